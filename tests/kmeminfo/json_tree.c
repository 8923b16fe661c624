// SPDX-License-Identifier: MIT
/*
 * tests/kmeminfo/json_tree.c - see json_tree.h: jansson parses, this file
 * only copies jansson's values into struct jnode and looks members up.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_tree.h"

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

static void copy(struct jnode *n, json_t *v)
{
	memset(n, 0, sizeof(*n));
	switch (json_typeof(v)) {
	case JSON_NULL:
		n->type = J_NULL;
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		n->type = J_BOOL;
		n->b = json_is_true(v);
		break;
	case JSON_INTEGER:
		n->type = J_NUM;
		n->num = (double)json_integer_value(v);
		if (json_integer_value(v) >= 0) {
			n->u64 = (uint64_t)json_integer_value(v);
			n->is_u64 = true;
		}
		break;
	case JSON_REAL:
		n->type = J_NUM;
		n->num = json_real_value(v);
		break;
	case JSON_STRING:
		n->type = J_STR;
		n->str = xstrdup(json_string_value(v));
		break;
	case JSON_ARRAY: {
		size_t i;
		json_t *e;

		n->type = J_ARR;
		n->nr = json_array_size(v);
		n->kids = calloc(n->nr ? n->nr : 1, sizeof(*n->kids));
		if (!n->kids)
			abort();
		json_array_foreach(v, i, e)
			copy(&n->kids[i], e);
		break;
	}
	case JSON_OBJECT: {
		const char *key;
		size_t i = 0;
		json_t *e;

		n->type = J_OBJ;
		n->nr = json_object_size(v);
		n->kids = calloc(n->nr ? n->nr : 1, sizeof(*n->kids));
		if (!n->kids)
			abort();
		/* jansson iterates in insertion order: document order. */
		json_object_foreach(v, key, e) {
			copy(&n->kids[i], e);
			n->kids[i++].key = xstrdup(key);
		}
		break;
	}
	}
}

/**
 * json_parse - parse @text (one whole JSON value) with jansson
 * @text:   the document
 * @err:    receives jansson's message (with line and column) on failure
 * @errlen: its size
 *
 * Return: the tree (json_free() it), or NULL.
 */
struct jnode *json_parse(const char *text, char *err, size_t errlen)
{
	const size_t flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY;
	json_error_t je;
	json_t *v = json_loads(text, flags, &je);
	struct jnode *n;

	if (!v && json_error_code(&je) == json_error_numeric_overflow)
		v = json_loads(text, flags | JSON_DECODE_INT_AS_REAL, &je);
	if (!v) {
		snprintf(err, errlen, "%s at line %d column %d", je.text,
			 je.line, je.column);
		return NULL;
	}
	n = malloc(sizeof(*n));
	if (!n)
		abort();
	copy(n, v);
	json_decref(v);
	return n;
}

static void free_kids(struct jnode *n)
{
	for (size_t i = 0; i < n->nr; i++) {
		free_kids(&n->kids[i]);
		free(n->kids[i].key);
	}
	free(n->kids);
	free(n->str);
}

void json_free(struct jnode *n)
{
	if (!n)
		return;
	free_kids(n);
	free(n);
}

/* An object's member, or NULL. */
const struct jnode *jget(const struct jnode *obj, const char *key)
{
	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->nr; i++)
		if (!strcmp(obj->kids[i].key, key))
			return &obj->kids[i];
	return NULL;
}

/* An object's member that is an integer >= 0; *ok = false if not. */
uint64_t jget_u64(const struct jnode *obj, const char *key, bool *ok)
{
	const struct jnode *n = jget(obj, key);

	if (!n || n->type != J_NUM || !n->is_u64) {
		*ok = false;
		return 0;
	}
	return n->u64;
}

/* An object's member that is a string, or NULL. */
const char *jget_str(const struct jnode *obj, const char *key)
{
	const struct jnode *n = jget(obj, key);

	return n && n->type == J_STR ? n->str : NULL;
}
