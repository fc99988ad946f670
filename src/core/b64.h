/* SPDX-License-Identifier: MIT */
/*
 * b64.h: canonical base64 (RFC 4648, padded), as the Z-Wave JS server
 * sends a controller's NVM and zwgatectl writes it, and a firmware
 * image goes the other way.  OpenSSL's
 * EVP_DecodeBlock takes more than that (blanks, '=' anywhere, padding
 * counted as bytes): these checks come first.
 */
#ifndef ZWGATE_B64_H
#define ZWGATE_B64_H

#include <stddef.h>

/*
 * How many bytes the len characters of s stand for when they are
 * canonical base64: only A-Z a-z 0-9 + /, a multiple of 4 long, '='
 * only as one or two characters of padding at the end.  -1 when they
 * are not (and for len 0).
 */
long b64_decoded_len(const char *s, size_t len);

/*
 * Decode them into out, which holds len / 4 * 3 bytes (the padding's
 * too: EVP_DecodeBlock writes them).  The count of bytes, or -1 when s
 * is not canonical base64.
 */
long b64_decode(const char *s, size_t len, unsigned char *out);

/*
 * The len bytes of data as canonical base64, NUL-terminated, in memory
 * the caller frees; NULL when out of memory or len is over 1 GiB.
 */
char *b64_encode(const unsigned char *data, size_t len);

#endif
