/* The byte ring in an unnamed file (shell/file_ring.h): the newest bytes in order whatever
 * the sizes of the puts (staged, straight to the file, longer than the ring), no name in
 * the directory, and the bytes not in the process's heap. */
#include <dirent.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shell/file_ring.h"
#include "unit.h"

struct tmp_dir {
	char path[64];
};

static void tmp_dir_make(struct tmp_dir *d)
{
	snprintf(d->path, sizeof d->path, "/tmp/periscope-unit-ring-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->path));
}

/* Names in the directory besides . and .. */
static int names_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Every kept byte, read back in blocks of `block` bytes. */
static char *read_all(struct file_ring *fr, size_t block)
{
	char *out = unit_malloc(fr->len + 1);
	size_t off = 0;
	ssize_t n;

	while ((n = file_ring_read(fr, off, out + off, block)) > 0)
		off += (size_t)n;
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(off, fr->len);
	out[off] = '\0';
	return out;
}

/* Bytes malloc has handed out and not had back: from the heap and in chunks of their own
 * (mmap'd: every allocation past M_MMAP_THRESHOLD, such as a ring of megabytes). */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

START_TEST(keeps_the_newest_bytes_in_order)
{
	struct tmp_dir d;
	struct file_ring fr;
	char *got;

	tmp_dir_make(&d);
	ck_assert_int_eq(file_ring_open(&fr, d.path, 10), 0);
	ck_assert_int_eq(file_ring_put(&fr, "abcdefgh", 8), 0);
	got = read_all(&fr, 3);
	ck_assert_str_eq(got, "abcdefgh");
	free(got);
	ck_assert_int_eq(file_ring_put(&fr, "ijklm", 5), 0);
	ck_assert_uint_eq(fr.len, 10);
	ck_assert_int_eq(fr.dropped, 3);
	got = read_all(&fr, 4);
	ck_assert_str_eq(got, "defghijklm");
	free(got);
	/* A put longer than the ring keeps its own end. */
	ck_assert_int_eq(file_ring_put(&fr, "0123456789ABCDEFGHIJ", 20), 0);
	ck_assert_int_eq(fr.dropped, 3 + 10 + 10);
	got = read_all(&fr, 64);
	ck_assert_str_eq(got, "ABCDEFGHIJ");
	free(got);
	file_ring_close(&fr);
	rmdir(d.path);
}
END_TEST

/* Puts of every size around the staging block, through several turns of a ring larger
 * than the block: what comes back is the stream's last cap bytes. */
START_TEST(any_put_sizes_through_several_turns)
{
	static const size_t sizes[] = { 1, 7, 4096, 65535, 65536, 65537, 150000, 3 };
	const size_t cap = 100000, total = 1000000;
	struct tmp_dir d;
	struct file_ring fr;
	char *stream = unit_malloc(total), *got;
	size_t at = 0, i = 0;

	for (size_t k = 0; k < total; k++)
		stream[k] = (char)('a' + (k * 7 + k / 251) % 26);
	tmp_dir_make(&d);
	ck_assert_int_eq(file_ring_open(&fr, d.path, cap), 0);
	while (at < total) {
		size_t n = sizes[i++ % (sizeof sizes / sizeof sizes[0])];

		if (n > total - at)
			n = total - at;
		ck_assert_int_eq(file_ring_put(&fr, stream + at, n), 0);
		at += n;
	}
	ck_assert_uint_eq(fr.len, cap);
	ck_assert_int_eq(fr.dropped, (long long)(total - cap));
	got = read_all(&fr, 4093); /* blocks that cross the file's end */
	ck_assert(memcmp(got, stream + total - cap, cap) == 0);
	free(got);
	free(stream);
	file_ring_close(&fr);
	rmdir(d.path);
}
END_TEST

/* The file has no name: nothing to clean up after a crash, nothing for the recording sweep
 * to see. */
START_TEST(the_file_has_no_name)
{
	struct tmp_dir d;
	struct file_ring fr;

	tmp_dir_make(&d);
	ck_assert_int_eq(file_ring_open(&fr, d.path, 1 << 20), 0);
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(file_ring_put(&fr, d.path, sizeof d.path), 0);
	ck_assert_int_eq(names_in(d.path), 0);
	file_ring_close(&fr);
	ck_assert_int_eq(rmdir(d.path), 0);
	ck_assert_int_eq(file_ring_open(&fr, "/tmp/periscope-unit-ring-none/x", 16), -1);
	ck_assert_int_eq(fr.fd, -1);
	file_ring_close(&fr);
}
END_TEST

/* The point of the ring: 48 MiB through a 16 MiB ring leave the heap as it was (one
 * staging block aside). */
START_TEST(the_bytes_are_not_in_the_heap)
{
	struct tmp_dir d;
	struct file_ring fr;
	char block[16384];
	size_t before;

	memset(block, 'x', sizeof block);
	tmp_dir_make(&d);
	before = heap_in_use();
	ck_assert_int_eq(file_ring_open(&fr, d.path, 16u << 20), 0);
	for (int i = 0; i < (48 << 20) / (int)sizeof block; i++)
		ck_assert_int_eq(file_ring_put(&fr, block, sizeof block), 0);
	ck_assert_uint_eq(fr.len, 16u << 20);
	ck_assert_uint_le(heap_in_use(), before + 2 * FILE_RING_STAGE);
	file_ring_close(&fr);
	rmdir(d.path);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("file_ring");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, keeps_the_newest_bytes_in_order);
	tcase_add_test(tc, any_put_sizes_through_several_turns);
	tcase_add_test(tc, the_file_has_no_name);
	tcase_add_test(tc, the_bytes_are_not_in_the_heap);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
