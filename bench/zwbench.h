/* SPDX-License-Identifier: MIT */
/*
 * zwbench.h: what the parts of bench/zwbench share.
 */
#ifndef ZWGATE_ZWBENCH_H
#define ZWGATE_ZWBENCH_H

#include <stdint.h>
#include <time.h>

extern const char *bench_prog;

/* Print "zwbench: message" and exit with status (2: usage). */
void bench_die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* The clock id's time in microseconds. */
uint64_t bench_now_us(clockid_t id);
/* The integer s of option opt, from min to max, or a usage error. */
long long bench_num(const char *opt, const char *s, long long min,
		    long long max);

/* zwbench rules: the rules engine's cost per event (zwbench_rules.c). */
int bench_rules(int argc, char **argv);

#endif
