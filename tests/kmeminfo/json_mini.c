// SPDX-License-Identifier: MIT
/*
 * tests/kmeminfo/json_mini.c - see json_mini.h.  Recursive descent over
 * the text, one function per production of RFC 8259.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_mini.h"

struct parser {
	const char *p;
	const char *start;
	char *err;
	size_t errlen;
	int depth;
};

static bool fail(struct parser *ps, const char *what)
{
	if (!ps->err[0])
		snprintf(ps->err, ps->errlen, "%s at offset %ld", what,
			 (long)(ps->p - ps->start));
	return false;
}

static void ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
	       *ps->p == '\r')
		ps->p++;
}

static bool value(struct parser *ps, struct jnode *n);

static bool string(struct parser *ps, char **out)
{
	size_t cap = 16, len = 0;
	char *s = malloc(cap);

	if (!s || *ps->p != '"')
		return free(s), fail(ps, "expected a string");
	ps->p++;
	for (;;) {
		unsigned char c = (unsigned char)*ps->p++;
		unsigned int cp = 0;

		if (len + 8 >= cap) {
			char *t = realloc(s, cap *= 2);

			if (!t)
				return free(s), fail(ps, "out of memory");
			s = t;
		}
		if (c == '"')
			break;
		if (!c || c < 0x20)
			return free(s), fail(ps, "bad character in string");
		if (c != '\\') {
			s[len++] = (char)c;
			continue;
		}
		c = (unsigned char)*ps->p++;
		switch (c) {
		case '"': case '\\': case '/':
			s[len++] = (char)c;
			break;
		case 'b': s[len++] = '\b'; break;
		case 'f': s[len++] = '\f'; break;
		case 'n': s[len++] = '\n'; break;
		case 'r': s[len++] = '\r'; break;
		case 't': s[len++] = '\t'; break;
		case 'u':
			for (int i = 0; i < 4; i++) {
				char h = *ps->p++;

				if (!isxdigit((unsigned char)h))
					return free(s), fail(ps, "bad \\u escape");
				h = (char)tolower((unsigned char)h);
				cp = cp * 16 + (unsigned int)(h <= '9' ?
							      h - '0' :
							      h - 'a' + 10);
			}
			/* Enough for the tests: code points below 0x800. */
			if (cp < 0x80) {
				s[len++] = (char)cp;
			} else if (cp < 0x800) {
				s[len++] = (char)(0xc0 | (cp >> 6));
				s[len++] = (char)(0x80 | (cp & 0x3f));
			} else {
				s[len++] = '?';
			}
			break;
		default:
			return free(s), fail(ps, "bad escape");
		}
	}
	s[len] = '\0';
	*out = s;
	return true;
}

static bool number(struct parser *ps, struct jnode *n)
{
	const char *b = ps->p;
	bool integral = true;
	char *end;

	if (*ps->p == '-')
		ps->p++, integral = false;
	if (*ps->p == '0')
		ps->p++;
	else if (isdigit((unsigned char)*ps->p))
		while (isdigit((unsigned char)*ps->p))
			ps->p++;
	else
		return fail(ps, "bad number");
	if (*ps->p == '.') {
		integral = false;
		ps->p++;
		if (!isdigit((unsigned char)*ps->p))
			return fail(ps, "bad fraction");
		while (isdigit((unsigned char)*ps->p))
			ps->p++;
	}
	if (*ps->p == 'e' || *ps->p == 'E') {
		integral = false;
		ps->p++;
		if (*ps->p == '+' || *ps->p == '-')
			ps->p++;
		if (!isdigit((unsigned char)*ps->p))
			return fail(ps, "bad exponent");
		while (isdigit((unsigned char)*ps->p))
			ps->p++;
	}
	n->type = J_NUM;
	n->num = strtod(b, NULL);
	if (integral) {
		errno = 0;
		n->u64 = strtoull(b, &end, 10);
		n->is_u64 = !errno && end == ps->p;
	}
	return true;
}

static bool add_kid(struct jnode *n, struct jnode **kid)
{
	struct jnode *k = realloc(n->kids, (n->nr + 1) * sizeof(*k));

	if (!k)
		return false;
	n->kids = k;
	*kid = &k[n->nr++];
	memset(*kid, 0, sizeof(**kid));
	return true;
}

static bool composite(struct parser *ps, struct jnode *n, bool obj)
{
	char close = obj ? '}' : ']';

	n->type = obj ? J_OBJ : J_ARR;
	if (++ps->depth > 64)
		return fail(ps, "too deep");
	ps->p++;
	ws(ps);
	if (*ps->p == close) {
		ps->p++;
		ps->depth--;
		return true;
	}
	for (;;) {
		struct jnode *kid;
		char *key = NULL;

		ws(ps);
		if (obj) {
			if (!string(ps, &key))
				return false;
			ws(ps);
			if (*ps->p++ != ':')
				return free(key), fail(ps, "expected ':'");
		}
		if (!add_kid(n, &kid))
			return free(key), fail(ps, "out of memory");
		kid->key = key;
		if (!value(ps, kid))
			return false;
		ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			ps->p++;
			ps->depth--;
			return true;
		}
		return fail(ps, "expected ',' or a closing bracket");
	}
}

static bool value(struct parser *ps, struct jnode *n)
{
	ws(ps);
	switch (*ps->p) {
	case '{':
		return composite(ps, n, true);
	case '[':
		return composite(ps, n, false);
	case '"':
		n->type = J_STR;
		return string(ps, &n->str);
	case 't':
		if (strncmp(ps->p, "true", 4))
			return fail(ps, "bad literal");
		ps->p += 4, n->type = J_BOOL, n->b = true;
		return true;
	case 'f':
		if (strncmp(ps->p, "false", 5))
			return fail(ps, "bad literal");
		ps->p += 5, n->type = J_BOOL, n->b = false;
		return true;
	case 'n':
		if (strncmp(ps->p, "null", 4))
			return fail(ps, "bad literal");
		ps->p += 4, n->type = J_NULL;
		return true;
	default:
		return number(ps, n);
	}
}

/**
 * json_parse - parse a whole JSON text
 * @text:   NUL-terminated
 * @err:    receives what is wrong and where, on failure
 * @errlen: its size
 *
 * Return: the tree (free with json_free), or NULL.
 */
struct jnode *json_parse(const char *text, char *err, size_t errlen)
{
	struct parser ps = { text, text, err, errlen, 0 };
	struct jnode *n = calloc(1, sizeof(*n));

	err[0] = '\0';
	if (!n)
		return NULL;
	if (!value(&ps, n)) {
		json_free(n);
		return NULL;
	}
	ws(&ps);
	if (*ps.p) {
		fail(&ps, "trailing characters");
		json_free(n);
		return NULL;
	}
	return n;
}

static void free_kids(struct jnode *n)
{
	for (size_t i = 0; i < n->nr; i++)
		free_kids(&n->kids[i]);
	free(n->kids);
	free(n->key);
	free(n->str);
}

/**
 * json_free - free a tree from json_parse
 * @n: the root, or NULL
 */
void json_free(struct jnode *n)
{
	if (!n)
		return;
	free_kids(n);
	free(n);
}

/**
 * jget - an object's member
 * @obj: an object node (anything else gives NULL)
 * @key: the member's name
 *
 * Return: the member, or NULL.
 */
const struct jnode *jget(const struct jnode *obj, const char *key)
{
	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->nr; i++)
		if (!strcmp(obj->kids[i].key, key))
			return &obj->kids[i];
	return NULL;
}

/**
 * jget_u64 - an object's member that is an exact unsigned integer
 * @obj: the object
 * @key: the member's name
 * @ok:  set to false if it is missing or not such a number
 *
 * Return: its value, or 0.
 */
uint64_t jget_u64(const struct jnode *obj, const char *key, bool *ok)
{
	const struct jnode *n = jget(obj, key);

	if (!n || n->type != J_NUM || !n->is_u64) {
		*ok = false;
		return 0;
	}
	return n->u64;
}

/**
 * jget_str - an object's member that is a string
 * @obj: the object
 * @key: the member's name
 *
 * Return: the string, or NULL.
 */
const char *jget_str(const struct jnode *obj, const char *key)
{
	const struct jnode *n = jget(obj, key);

	return n && n->type == J_STR ? n->str : NULL;
}
