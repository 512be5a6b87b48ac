
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * Repo slugs in every form HydraFlow writes them (hydraflow-api.md, 6):
 * "owner/name", "owner-name", the supervisor's directory name, and the
 * repos.json form where runs of other characters became "-".  Nothing here
 * includes nginx headers: unit tests and fuzzers link it directly.
 */


#ifndef _HYDRA_SLUG_H_INCLUDED_
#define _HYDRA_SLUG_H_INCLUDED_


#include <stddef.h>


/* the longest slug accepted, from a client or from the supervisor */
#define HYDRA_SLUG_MAX        200

/* HydraFlow's aggregate sentinel, matched case-insensitively */
#define HYDRA_SLUG_ALL        "__all__"


int hydra_slug_valid(const char *s, size_t len);
int hydra_slug_is_all(const char *s, size_t len);
size_t hydra_slug_dash(char *dst, size_t size, const char *s, size_t len);
size_t hydra_slug_fold(char *dst, size_t size, const char *s, size_t len);
const char *hydra_slug_base(const char *s, size_t len, size_t *base_len);
int hydra_slug_dot_dot(const char *s, size_t len);


#endif /* _HYDRA_SLUG_H_INCLUDED_ */
