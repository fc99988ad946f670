/* SPDX-License-Identifier: MIT */
/*
 * ctl_trust.c: `zwgatectl trust`.  The offline tools make, sign and check
 * bundles with trust_bundle.c, the same code the daemon decides with, so
 * that `trust verify` says what a gateway would say.  Exit codes: 0 done
 * (or would be accepted), 1 a file could not be used or a bundle does not
 * hold, 2 a command line that does not parse.  What zwgated answers to
 * import and status is printed by ctl_trust_status.c.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "ctl_trust.h"
#include "fsutil.h"
#include "trust.h"

#define CTL_TRUST_OPTS_MAX    12
#define CTL_TRUST_PEM_MAX     (256 * 1024) /* bytes of a certificate file */
#define CTL_TRUST_ERR_MAX     1024
#define CTL_TRUST_VERSION_MAX UINT64_C(9007199254740991) /* 2^53 - 1 */
#define B64_KEY_LEN	      44 /* base64 of a raw Ed25519 public key */

static const char prog[] = "zwgatectl";

const char ctl_trust_synopsis[] = "trust SUBCOMMAND [OPTIONS]";
const char ctl_trust_summary[] = "trust bundles: status, import, make, sign";

enum topt_kind {
	TOPT_ONE,  /* takes one value */
	TOPT_MANY, /* takes one or more */
	TOPT_EACH, /* takes one, and may be repeated */
	TOPT_FLAG, /* takes none */
};

struct topt {
	const char *name; /* "--host" */
	enum topt_kind kind;
};

/* A command line, sorted: the values of each option, and the rest. */
struct targs {
	bool set[CTL_TRUST_OPTS_MAX];
	size_t nvals[CTL_TRUST_OPTS_MAX];
	const char *vals[CTL_TRUST_OPTS_MAX][CTL_TRUST_VALUES_MAX];
	size_t npos;
	const char *pos[CTL_TRUST_VALUES_MAX];
};

struct tcmd {
	const char *name;
	const char *synopsis;
	const char *help;
	const struct topt *opts;     /* ends with a NULL name */
	size_t pos_min, pos_max;     /* arguments that are not options */
	const char *const *required; /* options that must be given */
	int (*run)(const struct tcmd *c, struct targs *a);
	/* an online command: the request to send, or NULL after an error */
	json_t *(*build)(const struct tcmd *c, struct targs *a, int *rc);
	void (*print)(const json_t *result);
};

/*
 * Text from a daemon or a certificate can hold anything: control bytes
 * (C0, DEL, C1 as UTF-8) become '?' so none reaches the terminal.
 */
void ctl_trust_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = '?';
	}
}

static void errorf(const struct tcmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Messages can quote a file's bytes: made safe for the terminal. */
static void errorf(const struct tcmd *c, const char *fmt, ...)
{
	char line[CTL_TRUST_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctl_trust_sanitize(line);
	fprintf(stderr, "%s: trust%s%s: %s\n", prog, c ? " " : "",
		c ? c->name : "", line);
}

/* Text with each line after the first indented. */
static void put_indented(FILE *out, const char *text, int indent)
{
	for (const char *p = text; *p; p++) {
		fputc(*p, out);
		if (*p == '\n' && p[1])
			fprintf(out, "%*s", indent, "");
	}
}

static void put_synopsis(FILE *out, const char *prefix, const struct tcmd *c)
{
	fprintf(out, "%s%s trust ", prefix, prog);
	/* Continued lines line up under the first option. */
	put_indented(out, c->synopsis,
		     (int)(strlen(prefix) + strlen(prog) + strlen(c->name)) +
			 8);
	fputc('\n', out);
}

static int usage(const struct tcmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One line saying what is wrong, then how it is used. */
static int usage(const struct tcmd *c, const char *fmt, ...)
{
	char line[CTL_TRUST_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	errorf(c, "%s", line);
	if (c)
		put_synopsis(stderr, "usage: ", c);
	else
		fprintf(stderr, "usage: %s %s\n", prog, ctl_trust_synopsis);
	fprintf(stderr, "Try '%s help trust' for more.\n", prog);
	return CTL_TRUST_USAGE;
}

static void b64_key(const unsigned char key[TRUST_KEY_LEN],
		    char out[B64_KEY_LEN + 1])
{
	EVP_EncodeBlock((unsigned char *)out, key, TRUST_KEY_LEN);
}

/* ---- the command line ---------------------------------------------- */

static int find_opt(const struct topt *opts, const char *name, size_t len)
{
	for (int i = 0; opts[i].name; i++)
		if (strlen(opts[i].name) == len &&
		    strncmp(opts[i].name, name, len) == 0)
			return i;
	return -1;
}

static int add_value(const struct tcmd *c, struct targs *a, int o,
		     const char *v)
{
	if (a->nvals[o] == CTL_TRUST_VALUES_MAX)
		return usage(c, "too many values of %s (at most %d)",
			     c->opts[o].name, CTL_TRUST_VALUES_MAX);
	a->vals[o][a->nvals[o]++] = v;
	return 0;
}

static int add_pos(const struct tcmd *c, struct targs *a, const char *v)
{
	if (a->npos == CTL_TRUST_VALUES_MAX || a->npos == c->pos_max)
		return usage(c, "unexpected argument '%s'", v);
	a->pos[a->npos++] = v;
	return 0;
}

/*
 * "--name" or "--name=value".  *cur becomes the option that takes the
 * next arguments as its values (-1: none).
 */
static int take_opt(const struct tcmd *c, struct targs *a, const char *arg,
		    int *cur)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	int o = find_opt(c->opts, arg, len);

	*cur = -1;
	if (o < 0)
		return usage(c, "unknown option '%.*s'", (int)len, arg);
	if (c->opts[o].kind == TOPT_FLAG) {
		if (eq)
			return usage(c, "%s takes no value", c->opts[o].name);
		a->set[o] = true;
		return 0;
	}
	if (a->set[o] && c->opts[o].kind == TOPT_ONE)
		return usage(c, "%s given twice", c->opts[o].name);
	a->set[o] = true;
	if (eq)
		return add_value(c, a, o, eq + 1);
	*cur = o;
	return 0;
}

/*
 * Options take their values from the arguments that follow them, up to
 * the next option ("--host a b --host c"); a one-value option takes one,
 * and what follows is an argument.  "--" ends the options.
 */
static int parse_args(const struct tcmd *c, int argc, char **argv,
		      struct targs *a)
{
	bool opts = true;
	int cur = -1, r = 0;

	for (int i = 0; i < argc && r == 0; i++) {
		const char *s = argv[i];

		if (opts && !strcmp(s, "--")) {
			opts = false;
			cur = -1;
		} else if (opts && !strncmp(s, "--", 2)) {
			r = take_opt(c, a, s, &cur);
		} else if (opts && s[0] == '-' && s[1]) {
			r = usage(c, "unknown option '%s'", s);
		} else if (cur >= 0) {
			r = add_value(c, a, cur, s);
			if (c->opts[cur].kind != TOPT_MANY)
				cur = -1;
		} else {
			r = add_pos(c, a, s);
		}
	}
	for (int o = 0; r == 0 && c->opts[o].name; o++)
		if (a->set[o] && c->opts[o].kind != TOPT_FLAG && !a->nvals[o])
			r = usage(c, "%s needs a value", c->opts[o].name);
	return r;
}

static int opt_index(const struct tcmd *c, const char *name)
{
	int o = find_opt(c->opts, name, strlen(name));

	if (o < 0)
		abort(); /* a name missing from the table: our bug */
	return o;
}

static size_t nvals(const struct tcmd *c, const struct targs *a,
		    const char *name)
{
	return a->nvals[opt_index(c, name)];
}

/* The value of a one-value option, or NULL. */
static const char *val(const struct tcmd *c, const struct targs *a,
		       const char *name)
{
	int o = opt_index(c, name);

	return a->nvals[o] ? a->vals[o][0] : NULL;
}

static bool flag(const struct tcmd *c, const struct targs *a, const char *name)
{
	return a->set[opt_index(c, name)];
}

static int check_args(const struct tcmd *c, const struct targs *a)
{
	for (size_t i = 0; c->required && c->required[i]; i++)
		if (!nvals(c, a, c->required[i]))
			return usage(c, "%s is required", c->required[i]);
	if (a->npos < c->pos_min)
		return usage(c, "missing argument");
	return 0;
}

/* ---- files ----------------------------------------------------------- */

/* Write data to path as a whole or not at all: temp file, rename. */
static int write_file(const struct tcmd *c, const char *path, const char *data,
		      size_t len, mode_t mode)
{
	char *copy = strdup(path), *slash;
	const char *dir = ".", *name = copy;
	int r;

	if (!copy) {
		errorf(c, "out of memory");
		return CTL_TRUST_FAILED;
	}
	slash = strrchr(copy, '/');
	if (slash) {
		*slash = '\0';
		dir = slash == copy ? "/" : copy;
		name = slash + 1;
	}
	r = fs_write_atomic(dir, name, data, len, mode);
	free(copy);
	if (r < 0) {
		errorf(c, "cannot write %s: %s", path, strerror(-r));
		return CTL_TRUST_FAILED;
	}
	return 0;
}

/* Push the certificates of a PEM text onto sk: how many, or -errno. */
static int push_certs(const char *buf, size_t len, STACK_OF(X509) * sk)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	int n = 0;
	X509 *x;

	if (!bio)
		return -ENOMEM;
	while (n >= 0 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (sk_X509_num(sk) >= TRUST_ITEMS_MAX)
			n = -E2BIG;
		else if (!sk_X509_push(sk, x))
			n = -ENOMEM;
		else
			n++;
		if (n < 0)
			X509_free(x);
	}
	/* The end of the text is an error to PEM_read_bio_X509. */
	ERR_clear_error();
	BIO_free(bio);
	return n;
}

/* Every certificate of a PEM file onto sk. */
static int load_certs(const struct tcmd *c, const char *path,
		      STACK_OF(X509) * sk, const char *what)
{
	char *buf = NULL;
	size_t len;
	int r = fs_read_file(path, CTL_TRUST_PEM_MAX, &buf, &len);

	if (r == 0)
		r = push_certs(buf, len, sk);
	free(buf);
	if (r == -EFBIG)
		errorf(c, "%s: larger than %d bytes: not a certificate file",
		       path, CTL_TRUST_PEM_MAX);
	else if (r == -E2BIG)
		errorf(c, "%s: too many %s (at most %d)", path, what,
		       TRUST_ITEMS_MAX);
	else if (r == 0)
		errorf(c, "%s: no PEM certificate in it", path);
	else if (r < 0)
		errorf(c, "%s: %s", path, strerror(-r));
	return r > 0 ? 0 : CTL_TRUST_FAILED;
}

static int load_bundle(const struct tcmd *c, const char *path,
		       struct trust_bundle **ret)
{
	char err[CTL_TRUST_ERR_MAX];

	if (trust_bundle_load(path, ret, err, sizeof(err)) < 0) {
		errorf(c, "%s", err);
		return CTL_TRUST_FAILED;
	}
	return 0;
}

static int save_bundle(const struct tcmd *c, const struct trust_bundle *b,
		       const char *path, mode_t mode)
{
	char *text;
	size_t len;
	int r = trust_bundle_dump(b, &text, &len);

	if (r < 0) {
		errorf(c, "cannot make the JSON of the bundle: %s",
		       strerror(-r));
		return CTL_TRUST_FAILED;
	}
	r = write_file(c, path, text, len, mode);
	free(text);
	return r;
}

/* ---- keygen ---------------------------------------------------------- */

static const struct topt keygen_opts[] = { { "--out", TOPT_ONE },
					   { NULL, TOPT_ONE } };
static const char *const keygen_required[] = { "--out", NULL };

static int run_keygen(const struct tcmd *c, struct targs *a)
{
	const char *out = val(c, a, "--out");
	char err[CTL_TRUST_ERR_MAX], *pub;
	unsigned char key[TRUST_KEY_LEN];
	char b64[B64_KEY_LEN + 1];

	if (trust_key_generate(out, err, sizeof(err)) < 0) {
		errorf(c, "%s", err);
		return CTL_TRUST_FAILED;
	}
	if (asprintf(&pub, "%s.pub", out) < 0) {
		errorf(c, "out of memory");
		return CTL_TRUST_FAILED;
	}
	if (trust_key_load_public(pub, key, err, sizeof(err)) < 0) {
		errorf(c, "%s", err);
		free(pub);
		return CTL_TRUST_FAILED;
	}
	b64_key(key, b64);
	printf("wrote %s (private: keep it offline) and %s\n"
	       "public key %s\n",
	       out, pub, b64);
	free(pub);
	return CTL_TRUST_OK;
}

/* ---- make ------------------------------------------------------------ */

static const struct topt make_opts[] = {
	{ "--version", TOPT_ONE },   { "--expires", TOPT_ONE },
	{ "--host", TOPT_MANY },     { "--anchor", TOPT_MANY },
	{ "--recovery", TOPT_MANY }, { "--pin", TOPT_MANY },
	{ "--pin-from", TOPT_MANY }, { "--signer", TOPT_MANY },
	{ "--threshold", TOPT_ONE }, { "--out", TOPT_ONE },
	{ NULL, TOPT_ONE },
};
_Static_assert(sizeof(make_opts) / sizeof(make_opts[0]) <= CTL_TRUST_OPTS_MAX,
	       "struct targs holds every option of make");
static const char *const make_required[] = { "--version", "--expires",
					     "--host",	  "--anchor",
					     "--signer",  "--threshold",
					     "--out",	  NULL };

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* YYYY-MM-DD, a real day, at 00:00:00 UTC. */
static int parse_date(const char *s, int64_t *ret)
{
	struct tm tm = { 0 }, back;
	char tail;
	time_t t;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tail) != 3)
		return -EINVAL;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != back.tm_mday ||
	    tm.tm_mon != back.tm_mon || tm.tm_year != back.tm_year)
		return -EINVAL;
	*ret = (int64_t)t;
	return 0;
}

static int make_numbers(const struct tcmd *c, const struct targs *a,
			struct trust_bundle *b)
{
	const char *v = val(c, a, "--version");
	const char *e = val(c, a, "--expires");
	const char *t = val(c, a, "--threshold");
	uint64_t th;

	if (parse_u64(v, 1, CTL_TRUST_VERSION_MAX, &b->version) < 0)
		return usage(c,
			     "--version '%s': not a whole number from 1 to "
			     "%" PRIu64,
			     v, CTL_TRUST_VERSION_MAX);
	if (parse_date(e, &b->expires) < 0)
		return usage(c, "--expires '%s': not a date YYYY-MM-DD", e);
	if (parse_u64(t, 1, TRUST_ITEMS_MAX, &th) < 0)
		return usage(c, "--threshold '%s': not a number from 1 to %d",
			     t, TRUST_ITEMS_MAX);
	b->threshold = (unsigned)th;
	b->issued_at = (int64_t)time(NULL);
	return 0;
}

static int make_hosts(const struct tcmd *c, const struct targs *a,
		      struct trust_bundle *b)
{
	int o = opt_index(c, "--host");

	for (size_t i = 0; i < a->nvals[o]; i++) {
		b->hosts[b->nhosts] = strdup(a->vals[o][i]);
		if (!b->hosts[b->nhosts]) {
			errorf(c, "out of memory");
			return CTL_TRUST_FAILED;
		}
		b->nhosts++;
	}
	return 0;
}

static int add_pin(const struct tcmd *c, struct trust_bundle *b,
		   const char *pin)
{
	if (b->npins == TRUST_ITEMS_MAX) {
		errorf(c, "too many pins (at most %d)", TRUST_ITEMS_MAX);
		return CTL_TRUST_FAILED;
	}
	if (strlen(pin) != TRUST_PIN_LEN)
		return usage(c,
			     "--pin '%s': not a pin (%d characters of base64: "
			     "the SHA-256 of a public key)",
			     pin, TRUST_PIN_LEN);
	memcpy(b->pins[b->npins++], pin, TRUST_PIN_LEN + 1);
	return 0;
}

/* --pin values first, then the pins of the --pin-from certificates. */
static int make_pins(const struct tcmd *c, const struct targs *a,
		     struct trust_bundle *b)
{
	int p = opt_index(c, "--pin"), f = opt_index(c, "--pin-from");
	char pin[TRUST_PIN_LEN + 1], err[CTL_TRUST_ERR_MAX];
	int r;

	for (size_t i = 0; i < a->nvals[p]; i++)
		if ((r = add_pin(c, b, a->vals[p][i])) != 0)
			return r;
	for (size_t i = 0; i < a->nvals[f]; i++) {
		if (trust_pin_of_file(a->vals[f][i], pin, err, sizeof(err)) <
		    0) {
			errorf(c, "%s", err);
			return CTL_TRUST_FAILED;
		}
		if ((r = add_pin(c, b, pin)) != 0)
			return r;
	}
	return 0;
}

static int make_files(const struct tcmd *c, const struct targs *a,
		      struct trust_bundle *b)
{
	int an = opt_index(c, "--anchor"), re = opt_index(c, "--recovery");
	int si = opt_index(c, "--signer");
	char err[CTL_TRUST_ERR_MAX];
	int r;

	for (size_t i = 0; i < a->nvals[an]; i++)
		if ((r = load_certs(c, a->vals[an][i], b->anchors, "anchors")))
			return r;
	for (size_t i = 0; i < a->nvals[re]; i++)
		if ((r = load_certs(c, a->vals[re][i], b->recovery,
				    "recovery roots")))
			return r;
	for (size_t i = 0; i < a->nvals[si]; i++) {
		if (trust_key_load_public(a->vals[si][i],
					  b->signers[b->nsigners], err,
					  sizeof(err)) < 0) {
			errorf(c, "%s", err);
			return CTL_TRUST_FAILED;
		}
		b->nsigners++;
	}
	return 0;
}

static int run_make(const struct tcmd *c, struct targs *a)
{
	struct trust_bundle *b = trust_bundle_new();
	char err[CTL_TRUST_ERR_MAX], when[21];
	const char *out = val(c, a, "--out");
	int r;

	if (!b) {
		errorf(c, "out of memory");
		return CTL_TRUST_FAILED;
	}
	if (!nvals(c, a, "--pin") && !nvals(c, a, "--pin-from"))
		r = usage(c, "--pin or --pin-from is required");
	else if ((r = make_numbers(c, a, b)) == 0 &&
		 (r = make_hosts(c, a, b)) == 0 &&
		 (r = make_pins(c, a, b)) == 0)
		r = make_files(c, a, b);
	if (r == 0 && trust_bundle_check(b, err, sizeof(err)) < 0) {
		errorf(c, "%s", err);
		r = CTL_TRUST_FAILED;
	}
	if (r == 0)
		r = save_bundle(c, b, out, 0644);
	if (r == 0) {
		trust_time_format(b->expires, when);
		printf("wrote %s: version %" PRIu64 ", expires %s, "
		       "unsigned (it needs %u signatures: zwgatectl trust "
		       "sign)\n",
		       out, b->version, when, b->threshold);
	}
	trust_bundle_free(b);
	return r;
}

/* ---- sign ------------------------------------------------------------ */

static const struct topt sign_opts[] = { { "--key", TOPT_ONE },
					 { NULL, TOPT_ONE } };
static const char *const sign_required[] = { "--key", NULL };

static int sign_with(const struct tcmd *c, struct trust_bundle *b,
		     EVP_PKEY *key, const char *path)
{
	char err[CTL_TRUST_ERR_MAX], b64[B64_KEY_LEN + 1];
	unsigned char raw[TRUST_KEY_LEN];
	struct stat st;
	int r;

	if (trust_bundle_sign(b, key, err, sizeof(err)) < 0) {
		errorf(c, "%s", err);
		return CTL_TRUST_FAILED;
	}
	if (trust_key_raw_public(key, raw) < 0) {
		errorf(c, "%s: not an Ed25519 key", path);
		return CTL_TRUST_FAILED;
	}
	/* The rewrite keeps the file's mode: it may be published as is. */
	r = save_bundle(c, b, path,
			stat(path, &st) == 0 ? st.st_mode & 07777 : 0644);
	if (r)
		return r;
	b64_key(raw, b64);
	printf("signed %s with key %s (%zu signature%s)\n", path, b64, b->nsigs,
	       b->nsigs == 1 ? "" : "s");
	return CTL_TRUST_OK;
}

static int run_sign(const struct tcmd *c, struct targs *a)
{
	const char *path = a->pos[0];
	struct trust_bundle *b = NULL;
	char err[CTL_TRUST_ERR_MAX];
	EVP_PKEY *key = NULL;
	int r;

	if (trust_key_load_private(val(c, a, "--key"), &key, err, sizeof(err)) <
	    0) {
		errorf(c, "%s", err);
		return CTL_TRUST_FAILED;
	}
	r = load_bundle(c, path, &b);
	if (r == 0)
		r = sign_with(c, b, key, path);
	trust_bundle_free(b);
	EVP_PKEY_free(key);
	return r;
}

/* ---- verify ---------------------------------------------------------- */

static const struct topt verify_opts[] = {
	{ "--trusted", TOPT_ONE },
	{ "--host", TOPT_EACH },
	{ NULL, TOPT_ONE },
};
static const char *const verify_required[] = { "--trusted", NULL };

static int refused(const char *path, const char *why)
{
	char line[CTL_TRUST_LINE_MAX];

	snprintf(line, sizeof(line), "%s: would be refused: %s", path, why);
	ctl_trust_sanitize(line);
	puts(line);
	return CTL_TRUST_FAILED;
}

/* Like trust_bundle_load, but the reason does not repeat the path. */
static int read_bundle(const char *path, struct trust_bundle **ret, char *err,
		       size_t errlen)
{
	char *buf;
	size_t len;
	int r = fs_read_file(path, TRUST_BUNDLE_MAX, &buf, &len);

	if (r == -EFBIG)
		snprintf(err, errlen, "larger than %d bytes", TRUST_BUNDLE_MAX);
	else if (r < 0)
		snprintf(err, errlen, "%s", strerror(-r));
	if (r < 0)
		return r;
	r = trust_bundle_parse(buf, len, ret, err, errlen);
	free(buf);
	return r;
}

/* The rules of trust_store_offer, with the trusted bundle's version as
 * the floor: a gateway's floor is at least that. */
static int verify_one(const struct tcmd *c, const struct targs *a,
		      const struct trust_bundle *trusted, const char *path)
{
	char err[CTL_TRUST_ERR_MAX];
	struct trust_bundle *b = NULL;
	int h = opt_index(c, "--host"), r = CTL_TRUST_OK;

	if (read_bundle(path, &b, err, sizeof(err)) < 0)
		return refused(path, err);
	if (trust_bundle_accept(trusted, trusted->version, b,
				(int64_t)time(NULL), err, sizeof(err)) < 0)
		r = refused(path, err);
	for (size_t i = 0; r == CTL_TRUST_OK && i < a->nvals[h]; i++) {
		if (trust_bundle_covers(b, a->vals[h][i]))
			continue;
		snprintf(err, sizeof(err), "does not cover host %s",
			 a->vals[h][i]);
		r = refused(path, err);
	}
	if (r == CTL_TRUST_OK)
		printf("%s: would be accepted: version %" PRIu64
		       ", signed by %u of the %zu trusted keys\n",
		       path, b->version,
		       trust_bundle_count_signers(b, trusted->signers,
						  trusted->nsigners),
		       trusted->nsigners);
	trust_bundle_free(b);
	return r;
}

static int run_verify(const struct tcmd *c, struct targs *a)
{
	struct trust_bundle *trusted = NULL;
	int r = load_bundle(c, val(c, a, "--trusted"), &trusted);

	if (r == 0)
		r = verify_one(c, a, trusted, a->pos[0]);
	trust_bundle_free(trusted);
	return r;
}

/* ---- import and status: requests to zwgated --------------------------- */

static const struct topt json_opts[] = { { "--json", TOPT_FLAG },
					 { NULL, TOPT_ONE } };

static json_t *build_import(const struct tcmd *c, struct targs *a, int *rc)
{
	const char *path = a->pos[0];
	json_t *text = NULL, *req;
	char *buf = NULL;
	size_t len;
	int r = fs_read_file(path, TRUST_BUNDLE_MAX, &buf, &len);

	*rc = CTL_TRUST_FAILED;
	if (r == -EFBIG)
		errorf(c,
		       "%s: larger than %d bytes (32 KiB), the most a trust "
		       "bundle may be",
		       path, TRUST_BUNDLE_MAX);
	else if (r < 0)
		errorf(c, "%s: %s", path, strerror(-r));
	else if (memchr(buf, '\0', len))
		errorf(c, "%s: not text (it holds a NUL byte)", path);
	else if (!(text = json_stringn(buf, len)))
		errorf(c, "%s: not UTF-8 text", path);
	free(buf);
	if (!text)
		return NULL;
	req = json_pack("{s:s,s:o}", "cmd", "trust-import", "bundle", text);
	if (!req)
		errorf(c, "out of memory");
	return req;
}

static json_t *build_status(const struct tcmd *c, struct targs *a, int *rc)
{
	json_t *req = json_pack("{s:s}", "cmd", "trust-status");

	*rc = CTL_TRUST_FAILED;
	if (!req)
		errorf(c, "out of memory");
	return req;
}

/* ---- the commands ---------------------------------------------------- */

static const struct tcmd tcmds[] = {
	{ .name = "status",
	  .synopsis = "status [--json]",
	  .help =
	      "What the gateway trusts now: mode, clock and time floor, "
	      "version floor,\nactive and pending bundle (version, expiry, "
	      "hosts, anchors with key\ntype and days left, pins), recovery "
	      "roots, and the chain and pin of\nthe last connection.  "
	      "Warnings come first.",
	  .opts = json_opts,
	  .build = build_status,
	  .print = ctl_trust_print_status },
	{ .name = "import",
	  .synopsis = "import [--json] FILE",
	  .help = "Offer the bundle FILE (at most 32 KiB of UTF-8) to zwgated, "
		  "as if it came\nfrom the cloud.  When its signatures, "
		  "version, expiry and hosts hold it\nbecomes pending and the "
		  "link is made again to try it; it is committed\nonce a "
		  "connection with it succeeds.  Otherwise the reason is "
		  "printed and\nnothing changes.",
	  .opts = json_opts,
	  .pos_min = 1,
	  .pos_max = 1,
	  .build = build_import,
	  .print = ctl_trust_print_import },
	{ .name = "keygen",
	  .synopsis = "keygen --out KEY",
	  .help = "Make an Ed25519 signing key: KEY (private, mode 0600) and "
		  "KEY.pub\n(public, 0644).  Refuses to overwrite either.",
	  .opts = keygen_opts,
	  .required = keygen_required,
	  .run = run_keygen },
	{ .name = "make",
	  .synopsis = "make --version N --expires YYYY-MM-DD --host NAME...\n"
		      "--anchor PEM... [--recovery PEM...]\n"
		      "--pin B64... | --pin-from PEM...\n"
		      "--signer PUB... --threshold K --out FILE",
	  .help = "Write an unsigned bundle to FILE (replaced whole if it "
		  "exists), issued now\nand expiring at 00:00:00 UTC on the "
		  "date.  Each PEM file gives all its\ncertificates; "
		  "--pin-from gives the pin of a file's first certificate;\n"
		  "--recovery roots count only in a factory bundle.  An option "
		  "takes\nseveral values (--host a b) or may be repeated.",
	  .opts = make_opts,
	  .required = make_required,
	  .run = run_make },
	{ .name = "sign",
	  .synopsis = "sign --key KEY FILE",
	  .help = "Add the signature of the private key KEY to the bundle FILE "
		  "(rewritten\nwhole); a key that signed before is replaced.",
	  .opts = sign_opts,
	  .required = sign_required,
	  .pos_min = 1,
	  .pos_max = 1,
	  .run = run_sign },
	{ .name = "verify",
	  .synopsis = "verify --trusted BUNDLE [--host NAME]... FILE",
	  .help = "Would a gateway trusting BUNDLE accept FILE?  The rules "
		  "of zwgated, with\nBUNDLE's version as the version floor and "
		  "the clock of this machine;\nwith --host (repeated for "
		  "several), FILE must also cover each NAME.\nExit 0: it "
		  "would, 1: it would not (the reason is printed).",
	  .opts = verify_opts,
	  .required = verify_required,
	  .pos_min = 1,
	  .pos_max = 1,
	  .run = run_verify },
};

#define NCMDS (sizeof(tcmds) / sizeof(tcmds[0]))

void ctl_trust_help(FILE *out)
{
	fprintf(out,
		"usage: %s [-s SOCKET] [-t SECONDS] %s\n\n"
		"Trust bundles: what the gateway trusts when it connects to "
		"the cloud\n(zwgate-trust(7)).  keygen, make, sign and verify "
		"work on files and\nneed no daemon; status and import ask "
		"zwgated.\n",
		prog, ctl_trust_synopsis);
	for (size_t i = 0; i < NCMDS; i++) {
		fputc('\n', out);
		put_synopsis(out, "", &tcmds[i]);
		fputs("    ", out);
		put_indented(out, tcmds[i].help, 4);
		fputc('\n', out);
	}
	fprintf(out, "\nExit status: 0 done; 1 refused, or a file could not "
		     "be used; 2 usage error;\n3, 4, 5 as for the other "
		     "commands (status, import).\n");
}

static int help_one(const struct tcmd *c)
{
	put_synopsis(stdout, "usage: ", c);
	printf("\n%s\n", c->help);
	return CTL_TRUST_OK;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

int ctl_trust_run(int argc, char **argv, bool *json, json_t **ret_req,
		  void (**ret_print)(const json_t *result))
{
	const struct tcmd *c = NULL;
	struct targs a = { 0 };
	int r;

	if (argc < 2)
		return usage(NULL, "no subcommand given");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		ctl_trust_help(stdout);
		return CTL_TRUST_OK;
	}
	for (size_t i = 0; i < NCMDS && !c; i++)
		if (!strcmp(argv[1], tcmds[i].name))
			c = &tcmds[i];
	if (!c)
		return usage(NULL, "unknown subcommand '%s'", argv[1]);
	if (wants_help(argc - 2, argv + 2))
		return help_one(c);
	if ((r = parse_args(c, argc - 2, argv + 2, &a)) != 0 ||
	    (r = check_args(c, &a)) != 0)
		return r;
	if (c->run)
		return c->run(c, &a);
	*json = *json || flag(c, &a, "--json");
	*ret_req = c->build(c, &a, &r);
	*ret_print = c->print;
	return *ret_req ? CTL_TRUST_SEND : r;
}
