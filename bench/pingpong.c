/* pingpong: what one more process on a keystroke's path costs on this machine. A byte goes
 * round a ring of pipes through --relays processes (each reads it and writes it on) and back
 * to the first; a round trip is relays + 1 wake-ups of a sleeping process. Running it with 1
 * and 2 relays gives the price of one more hop in each direction of a round trip, the
 * physical floor under any bridge that is a process of its own (dev/bench keystroke).
 *
 *   pingpong [--relays N] [--rounds N] [--gap-us N]
 * --gap-us: the first process sleeps that long between round trips, as a typist does
 * between keys: every process on the ring is then asleep when its byte comes (back to back,
 * they stay hot and a hop costs less than on a keystroke's path).
 * Prints one JSON line: relays, rounds, gap, round trip p50/p10/p90 in microseconds. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RELAYS 16

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* A relay: each byte read from in is written to out, until end of input. */
static void relay(int in, int out)
{
	char c;

	while (read(in, &c, 1) == 1)
		if (write(out, &c, 1) != 1)
			break;
	_exit(0);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "relays", required_argument, NULL, 'r' }, { "rounds", required_argument, NULL, 'n' },
		{ "gap-us", required_argument, NULL, 'g' }, { NULL, 0, NULL, 0 },
	};
	int relays = 1, rounds = 20000, gap_us = 0, opt, rc = 1;
	int pipes[MAX_RELAYS + 1][2];
	pid_t kids[MAX_RELAYS];
	long long *rtt = NULL;
	char c = 'k';

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'r': relays = atoi(optarg); break;
		case 'n': rounds = atoi(optarg); break;
		case 'g': gap_us = atoi(optarg); break;
		default: fputs("usage: pingpong [--relays N] [--rounds N] [--gap-us N]\n", stderr); return 2;
		}
	}
	if (relays < 1 || relays > MAX_RELAYS || rounds < 10 || gap_us < 0 || gap_us > 1000000) {
		fputs("pingpong: --relays 1..16, --rounds >= 10, --gap-us 0..1000000\n", stderr);
		return 2;
	}
	for (int i = 0; i <= MAX_RELAYS; i++)
		pipes[i][0] = pipes[i][1] = -1;
	rtt = calloc((size_t)rounds, sizeof *rtt);
	if (!rtt)
		return 1;
	/* pipes[i] carries the byte into relay i; pipes[relays] back to us. */
	for (int i = 0; i <= relays; i++)
		if (pipe(pipes[i]) != 0)
			goto done;
	for (int i = 0; i < relays; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			goto done;
		if (kids[i] == 0) {
			for (int j = 0; j <= relays; j++) {
				if (j != i)
					close(pipes[j][0]);
				if (j != i + 1)
					close(pipes[j][1]);
			}
			relay(pipes[i][0], pipes[i + 1][1]);
		}
	}
	for (int j = 0; j <= relays; j++) {
		if (j != relays)
			close(pipes[j][0]);
		if (j != 0)
			close(pipes[j][1]);
	}
	for (int i = 0; i < rounds; i++) {
		long long t0;

		if (gap_us > 0)
			usleep((useconds_t)gap_us);
		t0 = now_ns();
		if (write(pipes[0][1], &c, 1) != 1 || read(pipes[relays][0], &c, 1) != 1)
			goto done;
		rtt[i] = now_ns() - t0;
	}
	qsort(rtt, (size_t)rounds, sizeof *rtt, cmp_ll);
	printf("{\"relays\":%d,\"rounds\":%d,\"gapUs\":%d,\"roundTripUs\":{\"p50\":%.2f,\"p10\":%.2f,"
	       "\"p90\":%.2f}}\n", relays, rounds, gap_us, rtt[rounds / 2] / 1000.0, rtt[rounds / 10] / 1000.0,
	       rtt[rounds * 9 / 10] / 1000.0);
	rc = 0;
done:
	if (pipes[0][1] >= 0)
		close(pipes[0][1]); /* the relays see end of input, one after the other */
	while (wait(NULL) > 0)
		;
	free(rtt);
	return rc;
}
