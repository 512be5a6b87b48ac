
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * What every nginx-free unit shares: return codes and the clock.
 */


#ifndef _HYDRA_H_INCLUDED_
#define _HYDRA_H_INCLUDED_


#include <stdint.h>


#define HYDRA_OK          0
#define HYDRA_ERROR      -1
#define HYDRA_AGAIN      -2
#define HYDRA_DECLINED   -5


/* a yajl string node's text, once its type has been checked */
#define hydra_yajl_string(v)   ((const char *) (v)->u.string)


/*
 * Scheduling uses the monotonic clock, which all workers share; what
 * people read (last_ok) uses the wall clock.  Both in milliseconds.
 */

typedef struct {
    int64_t  mono;
    int64_t  wall;
} hydra_clock_t;


#endif /* _HYDRA_H_INCLUDED_ */
