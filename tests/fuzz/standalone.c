/* Runs a libFuzzer target without libFuzzer, so every fuzz target is exercised by
 * `make check` (and under ASan+UBSan in dev/test): each file of the target's corpus
 * directory, then a bounded number of deterministic mutations of them. Real coverage-
 * guided fuzzing uses the same target with clang -fsanitize=fuzzer (dev/fuzz). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (1 << 20)
#define MUTATIONS_PER_FILE 300

static uint64_t next_random(uint64_t *state)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 2685821657736338717ULL;
}

static void mutate_and_run(const uint8_t *seed, size_t len, uint64_t *rng)
{
	uint8_t *copy = malloc(len + 16);
	size_t n;

	if (!copy)
		return;
	for (int i = 0; i < MUTATIONS_PER_FILE; i++) {
		memcpy(copy, seed, len);
		n = len;
		int edits = 1 + (int)(next_random(rng) % 4);
		for (int e = 0; e < edits; e++) {
			uint64_t r = next_random(rng);
			switch (r % 4) {
			case 0: /* flip a byte */
				if (n)
					copy[r / 4 % n] ^= (uint8_t)(1u << (r / 16 % 8));
				break;
			case 1: /* truncate */
				if (n)
					n = r / 4 % n;
				break;
			case 2: /* set an interesting byte */
				if (n)
					copy[r / 4 % n] = (uint8_t[]){ 0, 0xff, '"', '{', '\n', 0x7f }[r / 64 % 6];
				break;
			default: /* append a byte */
				if (n < len + 16)
					copy[n++] = (uint8_t)(r >> 8);
				break;
			}
		}
		LLVMFuzzerTestOneInput(copy, n);
	}
	free(copy);
}

static int run_corpus(const char *path, uint64_t *rng, int *files);

/* With no arguments the corpus is $PERISCOPE_SRCDIR/tests/fuzz/corpus/<program name>. */
int main(int argc, char **argv)
{
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	int files = 0;

	if (argc < 2) {
		const char *src = getenv("PERISCOPE_SRCDIR"), *name = strrchr(argv[0], '/');
		char path[4096];

		snprintf(path, sizeof path, "%s/tests/fuzz/corpus/%s", src ? src : ".",
			 name ? name + 1 : argv[0]);
		if (run_corpus(path, &rng, &files) != 0)
			return 1;
	}
	for (int a = 1; a < argc; a++)
		if (run_corpus(argv[a], &rng, &files) != 0)
			return 1;
	printf("1..1\nok 1 - %d corpus files and their mutations ran clean\n", files);
	return files > 0 ? 0 : 1;
}

static int run_corpus(const char *corpus, uint64_t *rng, int *files)
{
	{
		DIR *dir = opendir(corpus);
		struct dirent *de;

		if (!dir) {
			fprintf(stderr, "cannot open corpus %s\n", corpus);
			return 1;
		}
		while ((de = readdir(dir))) {
			char path[4096];
			FILE *f;
			uint8_t *data;
			size_t len;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", corpus, de->d_name);
			f = fopen(path, "rb");
			if (!f)
				continue;
			data = malloc(FUZZ_MAX_INPUT);
			len = data ? fread(data, 1, FUZZ_MAX_INPUT, f) : 0;
			fclose(f);
			if (!data)
				return 1;
			LLVMFuzzerTestOneInput(data, len);
			mutate_and_run(data, len, rng);
			free(data);
			(*files)++;
		}
		closedir(dir);
	}
	return 0;
}
