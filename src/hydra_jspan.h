
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * JSON as spans of its own text: a body is validated once (RFC 8259,
 * strict UTF-8, a depth limit) into one flat array of nodes in document
 * order, each with its type, the bytes of its text (strings still
 * escaped, numbers as written) and its next sibling.  Nothing is copied
 * or converted until someone asks: a value is written out again as its
 * bytes (hydra_jspan_out.h), a number is read when it is added, a key
 * is decoded only if it has an escape.  No nginx headers, no yajl.
 *
 *   hydra_jspan_doc_t  doc;
 *
 *   if (hydra_jspan_parse(&doc, text, len, 64) != HYDRA_OK) {
 *       doc.error, doc.error_at: why and where
 *   }
 *
 *   root = hydra_jspan_root(&doc);
 *   for (v = hydra_jspan_first(root); v; v = hydra_jspan_next(v)) ...
 *   hydra_jspan_free(&doc);
 */


#ifndef _HYDRA_JSPAN_H_INCLUDED_
#define _HYDRA_JSPAN_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "hydra.h"


typedef enum {
    HYDRA_JSPAN_NULL = 0,
    HYDRA_JSPAN_FALSE,
    HYDRA_JSPAN_TRUE,
    HYDRA_JSPAN_NUMBER,
    HYDRA_JSPAN_STRING,
    HYDRA_JSPAN_ARRAY,
    HYDRA_JSPAN_OBJECT
} hydra_jspan_type_e;


/* flags */
#define HYDRA_JSPAN_ESCAPED      0x01    /* a string with a "\" */
#define HYDRA_JSPAN_KEY_ESCAPED  0x02    /* a member whose key has one */
#define HYDRA_JSPAN_DIGITS       0x04    /* a number that is -?[0-9]+ */


/*
 * One value.  Its text starts at text (a string's at its opening quote,
 * a container's at its bracket) and is len bytes long, through the
 * closing quote or bracket.  A member of an object also has its key:
 * key_back bytes before text, key_len bytes long, quotes included.  The
 * first child of a container is the node right after it; next is the
 * distance to the next sibling, 0 for the last one.
 */

typedef struct {
    const char                   *text;
    uint32_t                      len;
    uint32_t                      next;
    uint32_t                      key_back;
    uint32_t                      key_len;
    uint32_t                      count;      /* children of a container */
    uint8_t                       type;
    uint8_t                       flags;
} hydra_jspan_node_t;


typedef struct {
    hydra_jspan_node_t           *nodes;      /* nodes[0] is the root */
    size_t                        nnodes;
    size_t                        cap;
    const char                   *error;      /* NULL, or why not JSON */
    size_t                        error_at;   /* the byte it was found at */
} hydra_jspan_doc_t;


#define hydra_jspan_root(doc)     (&(doc)->nodes[0])

#define hydra_jspan_is(v, t)      ((v) != NULL && (v)->type == (t))
#define hydra_jspan_is_object(v)  hydra_jspan_is(v, HYDRA_JSPAN_OBJECT)
#define hydra_jspan_is_array(v)   hydra_jspan_is(v, HYDRA_JSPAN_ARRAY)
#define hydra_jspan_is_string(v)  hydra_jspan_is(v, HYDRA_JSPAN_STRING)
#define hydra_jspan_is_number(v)  hydra_jspan_is(v, HYDRA_JSPAN_NUMBER)
#define hydra_jspan_is_null(v)    hydra_jspan_is(v, HYDRA_JSPAN_NULL)
#define hydra_jspan_is_false(v)   hydra_jspan_is(v, HYDRA_JSPAN_FALSE)

/* the children of a container, and the siblings of a child */
#define hydra_jspan_first(v)      ((v)->count ? (v) + 1 : NULL)
#define hydra_jspan_next(v)       ((v)->next ? (v) + (v)->next : NULL)

/* a member's key, quotes included, and the end of any value's text */
#define hydra_jspan_key(v)        ((v)->text - (v)->key_back)
#define hydra_jspan_end(v)        ((v)->text + (v)->len)


int hydra_jspan_parse(hydra_jspan_doc_t *doc, const char *text, size_t len,
    unsigned max_depth);
void hydra_jspan_free(hydra_jspan_doc_t *doc);

const hydra_jspan_node_t *hydra_jspan_get(const hydra_jspan_node_t *obj,
    const char *key, size_t len);
int hydra_jspan_key_is(const hydra_jspan_node_t *v, const char *key,
    size_t len);
int hydra_jspan_str_is(const hydra_jspan_node_t *v, const char *s,
    size_t len);
int hydra_jspan_str_cmp(const hydra_jspan_node_t *a,
    const hydra_jspan_node_t *b);
int hydra_jspan_unescape(const char *p, size_t len, char *dst, size_t *n);

const unsigned char *hydra_jspan_scan_string(const unsigned char *p,
    const unsigned char *end, int *escaped);
const unsigned char *hydra_jspan_utf8(const unsigned char *p,
    const unsigned char *end);
const unsigned char *hydra_jspan_number(const unsigned char *p,
    const unsigned char *end, int *digits);
int hydra_jspan_hex4(const unsigned char *p);


#endif /* _HYDRA_JSPAN_H_INCLUDED_ */
