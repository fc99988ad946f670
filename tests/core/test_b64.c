/* SPDX-License-Identifier: MIT */
/*
 * b64_decoded_len and b64_decode: canonical base64 only, the padding
 * not counted as bytes; b64_encode's output decodes back.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "b64.h"

static void good(const char *s, const char *want, long n)
{
	unsigned char out[64];

	assert_int_equal(b64_decoded_len(s, strlen(s)), n);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(b64_decode(s, strlen(s), out), n);
	assert_memory_equal(out, want, (size_t)n);
}

static void test_good(void **state)
{
	good("AAAA", "\0\0\0", 3);
	good("Zm9v", "foo", 3);
	good("Zm9vYg==", "foob", 4);
	good("Zm9vYmE=", "fooba", 5);
	good("+/+/", "\xfb\xff\xbf", 3);
	(void)state;
}

static void bad(const char *s, size_t len)
{
	unsigned char out[64];

	if (b64_decoded_len(s, len) != -1)
		fail_msg("'%.*s' taken", (int)len, s);
	assert_int_equal(b64_decode(s, len, out), -1);
}

static void test_bad(void **state)
{
	bad("", 0);
	bad("Zm9", 3); /* not a multiple of 4 */
	bad("Zm9vY", 5);
	bad("Zm=v", 4); /* '=' inside */
	bad("Z===", 4); /* three of padding */
	bad("=Zm9", 4);
	bad("Zm9 ", 4); /* a blank, which OpenSSL would skip */
	bad("Zm9\n", 4);
	bad("Zm-_", 4);		 /* the URL alphabet */
	bad("Zm\0v", 4);	 /* a NUL inside the length */
	bad("Zm9vYg==Zm9v", 12); /* padding, then more */
	(void)state;
}

static void encoded(const char *in, size_t len, const char *want)
{
	char *s = b64_encode((const unsigned char *)in, len);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void test_encode(void **state)
{
	unsigned char all[256], back[258];
	char *s;

	encoded("", 0, "");
	encoded("f", 1, "Zg==");
	encoded("fo", 2, "Zm8=");
	encoded("foo", 3, "Zm9v");
	encoded("foob", 4, "Zm9vYg==");
	encoded("\0\0\0", 3, "AAAA");
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	s = b64_encode(all, sizeof(all));
	assert_non_null(s);
	assert_int_equal(strlen(s), 344);
	assert_int_equal(b64_decode(s, strlen(s), back), 256);
	assert_memory_equal(back, all, sizeof(all));
	free(s);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
