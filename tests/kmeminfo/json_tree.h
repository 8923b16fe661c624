/* SPDX-License-Identifier: MIT */
/*
 * tests/kmeminfo/json_tree.h - kmeminfo's JSON, parsed by jansson, as a
 * tree the tests walk.
 *
 * The parsing is jansson's (Debian's libjansson, a parser kmem did not
 * write), strict: the whole text must be one JSON value, duplicate keys
 * in an object are an error, strings must be valid UTF-8.  The result is
 * copied into plain nodes that keep document order; an integer >= 0 is
 * also kept as an exact unsigned 64-bit value.  jansson reads integers as
 * signed 64-bit and refuses larger ones, which kmeminfo prints only from a
 * corrupted region (its counters are unsigned): such a document is parsed
 * again with every number as a double, still by jansson, and then no
 * number in it is exact (jget_u64() refuses them).
 */
#ifndef KMEM_TESTS_JSON_TREE_H
#define KMEM_TESTS_JSON_TREE_H

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
