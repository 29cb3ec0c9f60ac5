/*-------------------------------------------------------------------------
 *
 * rowkeeper.h
 *	  Declarations shared between rowkeeper's C files.  Each capability
 *	  lives in its own file (see the header comment of each); this header
 *	  only carries what crosses file boundaries.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ROWKEEPER_H
#define ROWKEEPER_H

#include "postgres.h"

/* context.c: the request context GUCs (rowkeeper.actor, ...) */
extern void rk_context_define_gucs(void);
extern const char *rk_context_actor(void);
extern const char *rk_context_tenant(void);
extern const char *rk_context_request_id(void);

#endif							/* ROWKEEPER_H */
