/* SPDX-License-Identifier: MIT */
/* b64.c: canonical base64 (see b64.h). */
#include "config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "b64.h"

static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

long b64_decoded_len(const char *s, size_t len)
{
	size_t pad = 0;

	if (!len || len % 4 || len / 4 * 3 > (size_t)LONG_MAX)
		return -1;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++)
		if (!b64_char(s[i]))
			return -1;
	return (long)(len / 4 * 3 - pad);
}

long b64_decode(const char *s, size_t len, unsigned char *out)
{
	long n = b64_decoded_len(s, len);

	if (n < 0 || len > (size_t)INT_MAX ||
	    EVP_DecodeBlock(out, (const unsigned char *)s, (int)len) < 0)
		return -1;
	return n;
}

char *b64_encode(const unsigned char *data, size_t len)
{
	size_t n = (len + 2) / 3 * 4;
	char *out;

	if (len > (1u << 30))
		return NULL;
	out = malloc(n + 1);
	/* EVP_EncodeBlock writes the NUL too, and no newline. */
	if (out &&
	    EVP_EncodeBlock((unsigned char *)out, data, (int)len) != (int)n) {
		free(out);
		return NULL;
	}
	return out;
}
