/* SPDX-License-Identifier: MIT */
/*
 * trust_int.h: what trust_bundle.c, trust_keys.c and trust_json.c share,
 * and nothing else includes: limits of the bundle format, the error
 * sentence of a failed call, base64.
 */
#ifndef ZWGATE_TRUST_INT_H
#define ZWGATE_TRUST_INT_H

#include <stdarg.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "trust.h"

#define TRUST_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define TRUST_TIME_LEN 20		     /* "2026-11-23T18:00:00Z" */
#define TRUST_B64_MAX  88 /* base64 of the largest fixed field (a sig) */

/* Fill err (when given) with the sentence and return rc. */
__attribute__((format(printf, 4, 5))) static inline int
trust_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Standard base64, padded, one line; out holds 4 * ceil(n / 3) + 1. */
static inline void trust_b64_encode(const unsigned char *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

#endif
