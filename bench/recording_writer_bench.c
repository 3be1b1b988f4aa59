/* The recording writer on its own (shell/recording.h): how fast recording_output turns
 * terminal output into asciicast events on disk, for plain text (base64 lines, as the
 * `cat` of bench/recording.mjs) and for colourful UTF-8 with escapes, in 4 KiB reads as a
 * pty gives them. Next to it, the same bytes written raw, as the anchor. So the writer's
 * cost per MB is known without the noise of a whole stack.
 * Usage: bench/recording-writer-bench [megabytes=64] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shell/recording.h"

#define READ_SIZE 4096

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(unsigned char *buf, size_t len, int colourful)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char colour[] = "\x1b[1;32mcaf\xc3\xa9\x1b[0m \xe2\x9c\x93 \"q\" \\ \t";
	size_t i = 0, col = 0;

	while (i < len) {
		if (colourful && col % 40 == 0 && i + sizeof colour < len) {
			memcpy(buf + i, colour, sizeof colour - 1);
			i += sizeof colour - 1;
			col += sizeof colour - 1;
			continue;
		}
		if (col >= 100) {
			buf[i++] = '\r';
			if (i < len)
				buf[i++] = '\n';
			col = 0;
			continue;
		}
		buf[i] = (unsigned char)b64[(i * 7) % 64];
		i++;
		col++;
	}
}

static void run(const char *label, const unsigned char *data, size_t len)
{
	char path[] = "/tmp/periscope-bench-recording-XXXXXX", err[256];
	struct recording r;
	double t0, c0, wall, cpu, raw_wall;
	long long mono = 0;
	int fd = mkstemp(path);

	if (fd < 0)
		exit(1);
	t0 = now_s();
	for (size_t off = 0; off < len; off += READ_SIZE)
		if (write(fd, data + off, len - off < READ_SIZE ? len - off : READ_SIZE) < 0)
			exit(1);
	fsync(fd);
	raw_wall = now_s() - t0;
	close(fd);
	unlink(path);
	if (recording_open(&r, path, 1LL << 40, false, "bench", 0, 0, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	t0 = now_s();
	c0 = cpu_s();
	for (size_t off = 0; off < len; off += READ_SIZE) {
		recording_output(&r, data + off, len - off < READ_SIZE ? len - off : READ_SIZE, mono);
		mono += 1;
		recording_tick(&r, mono);
	}
	recording_close(&r, mono, NULL);
	wall = now_s() - t0;
	cpu = cpu_s() - c0;
	recording_free(&r);
	unlink(path);
	printf("%s: %.0f MB through recording_output in %.2f s (%.0f MB/s, CPU %.2f ms/MB); "
	       "the same bytes written raw %.2f s (%.0f MB/s)\n", label, len / 1e6, wall,
	       len / 1e6 / wall, cpu * 1000 / (len / 1e6), raw_wall, len / 1e6 / raw_wall);
}

int main(int argc, char **argv)
{
	size_t len = (size_t)(argc > 1 ? atoi(argv[1]) : 64) * 1000 * 1000;
	unsigned char *data = malloc(len);

	if (!data)
		return 1;
	fill(data, len, 0);
	run("base64 text   ", data, len);
	fill(data, len, 1);
	run("colourful UTF-8", data, len);
	free(data);
	return 0;
}
