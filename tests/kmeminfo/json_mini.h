/* SPDX-License-Identifier: MIT */
/*
 * tests/kmeminfo/json_mini.h - a strict little JSON parser for the tests.
 *
 * Parses RFC 8259 JSON (objects, arrays, strings with escapes, numbers,
 * true/false/null) into a tree; rejects trailing garbage, trailing
 * commas, control characters in strings and bad escapes.  Numbers are
 * kept as double and, when integral, as an exact unsigned 64-bit value.
 */
#ifndef KMEM_TESTS_JSON_MINI_H
#define KMEM_TESTS_JSON_MINI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode {
	enum jtype type;
	char *key;		/* member name inside an object */
	char *str;		/* J_STR */
	double num;		/* J_NUM */
	uint64_t u64;		/* J_NUM, exact when is_u64 */
	bool is_u64;
	bool b;			/* J_BOOL */
	struct jnode *kids;	/* J_ARR, J_OBJ */
	size_t nr;
};

struct jnode *json_parse(const char *text, char *err, size_t errlen);
void json_free(struct jnode *n);
const struct jnode *jget(const struct jnode *obj, const char *key);
uint64_t jget_u64(const struct jnode *obj, const char *key, bool *ok);
const char *jget_str(const struct jnode *obj, const char *key);

#endif
