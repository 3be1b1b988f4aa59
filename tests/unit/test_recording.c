/* The asciicast v2 writer: JSON escaping of terminal bytes as asciinema's recorder decodes
 * them, the header and events, the flush that keeps a killed session's file, and the cap
 * that keeps head and tail with a marker between. */
#include <dirent.h>
#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/encoding.h"
#include "shell/recording.h"
#include "store/recording_sweep.h"
#include "unit.h"
#include "unit_db.h"

#include <fcntl.h>
#include <sys/time.h>

static char *escaped(const char *in, size_t len, bool final, long long *used)
{
	struct buf b;

	buf_init(&b, 1 << 16);
	*used = recording_escape(&b, (const unsigned char *)in, len, final);
	return buf_steal(&b);
}

/* Bytes malloc has handed out and not had back: from the heap and in chunks of their own
 * (mmap'd: every allocation past M_MMAP_THRESHOLD, such as a ring of megabytes). */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

START_TEST(escapes_json_and_keeps_utf8)
{
	long long used;
	static const char in[] = "a\"b\\c\n\r\t\x01\x1b[0m\x7f caf\xc3\xa9 \xf0\x9f\x98\x80";
	char *s = escaped(in, sizeof in - 1, true, &used);

	ck_assert_int_eq(used, 25);
	ck_assert_str_eq(s, "a\\\"b\\\\c\\n\\r\\t\\u0001\\u001b[0m\x7f caf\xc3\xa9 \xf0\x9f\x98\x80");
	free(s);
	s = escaped("x\0y", 3, true, &used);
	ck_assert_str_eq(s, "x\\u0000y");
	free(s);
}
END_TEST

/* One U+FFFD per maximal invalid subpart, as Python's decode(errors="replace") gives. */
START_TEST(replaces_invalid_utf8_like_asciinema)
{
	long long used;
	char *s;

	s = escaped("\xff" "A", 2, true, &used);
	ck_assert_str_eq(s, "\xef\xbf\xbd" "A");
	free(s);
	s = escaped("\xe2\x82" "A", 3, true, &used);
	ck_assert_str_eq(s, "\xef\xbf\xbd" "A");
	free(s);
	/* A surrogate's encoding: ED may not be followed by A0, so three replacements. */
	s = escaped("\xed\xa0\x80", 3, true, &used);
	ck_assert_str_eq(s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = escaped("\xc0\xaf", 2, true, &used);
	ck_assert_str_eq(s, "\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	/* An incomplete sequence at the end waits for the next read, unless it is the last. */
	s = escaped("ok\xf0\x9f\x98", 5, false, &used);
	ck_assert_int_eq(used, 2);
	ck_assert_str_eq(s, "ok");
	free(s);
	s = escaped("ok\xf0\x9f\x98", 5, true, &used);
	ck_assert_int_eq(used, 5);
	ck_assert_str_eq(s, "ok\xef\xbf\xbd");
	free(s);
}
END_TEST

struct rec_file {
	char dir[64], path[128];
};

static void rec_file_init(struct rec_file *f)
{
	snprintf(f->dir, sizeof f->dir, "/tmp/periscope-unit-recording-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	/* The directory of recordings is created by recording_open. */
	snprintf(f->path, sizeof f->path, "%s/recs/s.cast", f->dir);
}

static void rec_file_done(struct rec_file *f)
{
	char sub[80];

	unlink(f->path);
	snprintf(sub, sizeof sub, "%s/recs", f->dir);
	rmdir(sub);
	rmdir(f->dir);
}

/* The file's lines parsed: [0] the header, then the events. */
static json_t *read_cast(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	json_t *lines = json_array();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	ck_assert_ptr_nonnull(f);
	*size = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_error_t e;
		json_t *v = json_loadb(line, (size_t)n, 0, &e);
		ck_assert_msg(v != NULL, "line %zu is not JSON: %s", json_array_size(lines) + 1, e.text);
		ck_assert_msg(line[n - 1] == '\n', "every line ends with a newline");
		json_array_append_new(lines, v);
		*size += (size_t)n;
	}
	free(line);
	fclose(f);
	return lines;
}

static const char *ev_type(json_t *lines, size_t i)
{
	return json_string_value(json_array_get(json_array_get(lines, i), 1));
}

static const char *ev_data(json_t *lines, size_t i)
{
	return json_string_value(json_array_get(json_array_get(lines, i), 2));
}

static double ev_time(json_t *lines, size_t i)
{
	return json_real_value(json_array_get(json_array_get(lines, i), 0));
}

/* Event times are written as asciinema writes them ("%.6f" of the seconds), byte for byte. */
START_TEST(event_times_are_written_with_six_decimals)
{
	static const struct { long long at; const char *want; } events[] = {
		{ 1000, "[0.000000, \"o\", \"a\"]\n" }, { 1007, "[0.007000, \"o\", \"a\"]\n" },
		{ 2234, "[1.234000, \"o\", \"a\"]\n" }, { 1001000, "[1000.000000, \"o\", \"a\"]\n" },
		{ 360000999, "[359999.999000, \"o\", \"a\"]\n" },
	};
	struct rec_file f;
	struct recording r;
	char err[256], *line = NULL;
	size_t cap = 0, i = 0;
	json_t *extra = json_object();
	FILE *in;

	rec_file_init(&f);
	ck_assert_int_eq(recording_open(&r, f.path, 1 << 20, false, "t", 1700000000123LL, 1000, err,
					sizeof err), 0);
	for (size_t k = 0; k < sizeof events / sizeof events[0]; k++)
		recording_output(&r, "a", 1, events[k].at);
	recording_close(&r, 360001000, extra);
	recording_free(&r);
	in = fopen(f.path, "rb");
	ck_assert_ptr_nonnull(in);
	ck_assert(getline(&line, &cap, in) > 0); /* the header */
	for (; i < sizeof events / sizeof events[0] && getline(&line, &cap, in) > 0; i++)
		ck_assert_str_eq(line, events[i].want);
	ck_assert_uint_eq(i, sizeof events / sizeof events[0]);
	free(line);
	fclose(in);
	json_decref(extra);
	rec_file_done(&f);
}
END_TEST

START_TEST(header_events_and_close_fields)
{
	struct rec_file f;
	struct recording r;
	char err[256];
	json_t *lines, *extra = json_object(), *h, *rec;
	size_t size;
	struct stat sb;

	rec_file_init(&f);
	ck_assert_int_eq(recording_open(&r, f.path, 1 << 20, false, "node shell t", 1700000000123LL,
					1000, err, sizeof err), 0);
	ck_assert_int_eq(stat(f.path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	recording_resize(&r, 100, 30, 1000); /* before any output: the header's size */
	recording_output(&r, "caf\xc3", 4, 1500);
	recording_output(&r, "\xa9 ok\r\n", 6, 2250);
	recording_input(&r, "secret\r", 7, 2300); /* not recorded: recording.input is off */
	recording_resize(&r, 120, 40, 3000);
	recording_output(&r, "\x1b[H", 3, 3500);
	recording_close(&r, 4000, extra);
	recording_free(&r);

	lines = read_cast(f.path, &size);
	h = json_array_get(lines, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "version")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "width")), 100);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "height")), 30);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "timestamp")), 1700000000);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "env"), "TERM")),
			 "xterm-256color");
	ck_assert_str_eq(json_string_value(json_object_get(h, "title")), "node shell t");
	ck_assert_uint_eq(json_array_size(lines), 5);
	ck_assert_str_eq(ev_type(lines, 1), "o");
	ck_assert_str_eq(ev_data(lines, 1), "caf");
	ck_assert(ev_time(lines, 1) == 0.5);
	ck_assert_str_eq(ev_data(lines, 2), "\xc3\xa9 ok\r\n");
	ck_assert(ev_time(lines, 2) == 1.25);
	ck_assert_str_eq(ev_type(lines, 3), "r");
	ck_assert_str_eq(ev_data(lines, 3), "120x40");
	ck_assert_str_eq(ev_data(lines, 4), "\x1b[H");

	rec = json_object_get(extra, "recording");
	ck_assert_int_eq(json_integer_value(json_object_get(rec, "bytes")), (long long)size);
	ck_assert(json_is_false(json_object_get(rec, "truncated")));
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(rec, "sha256"))), 64);
	json_decref(lines);
	json_decref(extra);
	rec_file_done(&f);
}
END_TEST

START_TEST(input_events_when_asked)
{
	struct rec_file f;
	struct recording r;
	char err[256];
	json_t *lines;
	size_t size;

	rec_file_init(&f);
	ck_assert_int_eq(recording_open(&r, f.path, 1 << 20, true, "", 0, 0, err, sizeof err), 0);
	recording_input(&r, "ls\r", 3, 100);
	recording_close(&r, 200, NULL);
	recording_free(&r);
	lines = read_cast(f.path, &size);
	ck_assert_uint_eq(json_array_size(lines), 2);
	ck_assert_str_eq(ev_type(lines, 1), "i");
	ck_assert_str_eq(ev_data(lines, 1), "ls\r");
	json_decref(lines);
	rec_file_done(&f);
}
END_TEST

/* A bridge killed without closing leaves what was flushed: everything older than
 * RECORDING_FLUSH_MS is on disk. */
START_TEST(flushed_within_a_second)
{
	struct rec_file f;
	struct recording r;
	char err[256];
	json_t *lines;
	size_t size;

	rec_file_init(&f);
	ck_assert_int_eq(recording_open(&r, f.path, 1 << 20, false, "", 0, 0, err, sizeof err), 0);
	recording_output(&r, "before\r\n", 8, 100);
	recording_tick(&r, 900);
	lines = read_cast(f.path, &size);
	ck_assert_uint_eq(json_array_size(lines), 0); /* still buffered */
	json_decref(lines);
	recording_tick(&r, 1000);
	lines = read_cast(f.path, &size);
	ck_assert_uint_eq(json_array_size(lines), 2);
	ck_assert_str_eq(ev_data(lines, 1), "before\r\n");
	json_decref(lines);
	/* Killed here: the file stays as it is, valid up to the last flush. */
	recording_free(&r);
	rec_file_done(&f);
}
END_TEST

/* What a burst grew is given back once the output slows down: the buffer that kept lines
 * between flushes (up to 128 KiB while output streams) is freed by the flush on time. */
START_TEST(a_burst_s_buffer_is_given_back_when_output_slows)
{
	static char chunk[4096];
	struct rec_file f;
	struct recording r;
	char err[256];

	memset(chunk, 'o', sizeof chunk);
	rec_file_init(&f);
	ck_assert_int_eq(recording_open(&r, f.path, 64 << 20, false, "", 0, 0, err, sizeof err), 0);
	for (int i = 0; i < 40; i++)   /* 160 KiB at time 100: flushed on size, kept */
		recording_output(&r, chunk, sizeof chunk, 100);
	ck_assert_uint_gt(r.pending.cap, RECORDING_FLUSH_BYTES);
	recording_tick(&r, 100 + RECORDING_FLUSH_MS);
	ck_assert_uint_eq(r.pending.len, 0);
	ck_assert_uint_eq(r.pending.cap, 0);
	recording_output(&r, "after\r\n", 7, 1200);   /* and recording goes on */
	recording_tick(&r, 1200 + RECORDING_FLUSH_MS);
	ck_assert_uint_eq(r.pending.len, 0);
	recording_free(&r);
	rec_file_done(&f);

	/* Past half the cap the lines go to the tail's file: the head's buffer goes too. */
	rec_file_init(&f);
	ck_assert_int_eq(recording_open(&r, f.path, 256 << 10, false, "", 0, 0, err, sizeof err), 0);
	for (int i = 0; i < 80; i++)   /* 320 KiB at time 100, past the 128 KiB head */
		recording_output(&r, chunk, sizeof chunk, 100);
	ck_assert_uint_gt(r.pending.cap, 0);
	recording_tick(&r, 100 + RECORDING_FLUSH_MS);
	ck_assert_uint_eq(r.pending.cap, 0);
	recording_free(&r);
	rec_file_done(&f);
}
END_TEST

static void file_sha256_hex(const char *path, char out[65])
{
	static char data[8192];
	FILE *f = fopen(path, "rb");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(data, 1, sizeof data, f);
	fclose(f);
	ck_assert_int_eq(sha256_hex(data, n, out), 0);
}

START_TEST(cap_keeps_head_and_tail_with_a_marker)
{
	struct rec_file f;
	struct recording r;
	char err[256], line[64], sha[65];
	json_t *lines, *extra = json_object(), *rec;
	size_t size, n, marker = 0;

	rec_file_init(&f);
	ck_assert_int_eq(recording_open(&r, f.path, 4096, false, "", 0, 0, err, sizeof err), 0);
	for (int i = 1; i <= 1000; i++) {
		snprintf(line, sizeof line, "line %04d\r\n", i);
		recording_output(&r, line, strlen(line), i);
	}
	recording_close(&r, 2000, extra);
	recording_free(&r);

	lines = read_cast(f.path, &size);
	n = json_array_size(lines);
	ck_assert_uint_le(size, 4096);
	ck_assert_str_eq(ev_data(lines, 1), "line 0001\r\n");
	ck_assert_str_eq(ev_data(lines, n - 1), "line 1000\r\n");
	for (size_t i = 1; i < n; i++) {
		if (strcmp(ev_type(lines, i), "m") == 0) {
			ck_assert_uint_eq(marker, 0);
			marker = i;
		}
		if (i > 1)
			ck_assert_msg(ev_time(lines, i) >= ev_time(lines, i - 1), "times go forward");
	}
	ck_assert_uint_gt(marker, 1);
	ck_assert_ptr_nonnull(strstr(ev_data(lines, marker), "left out"));
	/* Head and tail are whole runs of lines: no line of either side is missing. */
	for (size_t i = 2; i < marker; i++) {
		snprintf(line, sizeof line, "line %04zu\r\n", i);
		ck_assert_str_eq(ev_data(lines, i), line);
	}
	for (size_t i = n - 1; i > marker; i--) {
		snprintf(line, sizeof line, "line %04zu\r\n", 1000 - (n - 1 - i));
		ck_assert_str_eq(ev_data(lines, i), line);
	}
	rec = json_object_get(extra, "recording");
	ck_assert(json_is_true(json_object_get(rec, "truncated")));
	ck_assert_int_gt(json_integer_value(json_object_get(rec, "left_out")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(rec, "bytes")), (long long)size);
	file_sha256_hex(f.path, sha);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "sha256")), sha);
	json_decref(lines);
	json_decref(extra);
	rec_file_done(&f);
}
END_TEST

/* Past half the cap the tail goes to an unnamed file beside the recording, not the heap:
 * 48 MiB of output through a 16 MiB cap leave the heap where it was after the head (the
 * ring of 8 MiB was malloc'd before), no other name in the directory, and the same file a
 * memory ring made: head, marker, the newest whole lines. */
START_TEST(tail_past_the_cap_is_not_kept_in_memory)
{
	struct rec_file f;
	struct recording r;
	char err[256], line[128], dirpath[80];
	json_t *lines, *extra = json_object(), *rec;
	size_t size, n, at_start, at_head = 0, grown = 0, in_use;
	int i, names = 0;
	DIR *d;
	struct dirent *e;

	rec_file_init(&f);
	ck_assert_int_eq(recording_open(&r, f.path, 4 << 20, false, "", 0, 0, err, sizeof err), 0);
	at_start = heap_in_use();
	for (i = 0; i < 160000; i++) {
		snprintf(line, sizeof line, "%-70d\r\n", i);
		recording_output(&r, line, strlen(line), 1000 + i / 100);
	}
	ck_assert(r.cutting);
	in_use = heap_in_use();
	if (in_use > at_start)
		grown = in_use - at_start;
	ck_assert_uint_le(grown, 512 << 10);
	snprintf(dirpath, sizeof dirpath, "%s/recs", f.dir);
	ck_assert_ptr_nonnull(d = opendir(dirpath));
	while ((e = readdir(d)))
		names += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	ck_assert_int_eq(names, 1);
	recording_close(&r, 10000, extra);
	recording_free(&r);

	lines = read_cast(f.path, &size);
	n = json_array_size(lines);
	ck_assert_uint_le(size, 4 << 20);
	ck_assert_uint_ge(size, 3 << 20);
	snprintf(line, sizeof line, "%-70d\r\n", 159999);
	ck_assert_str_eq(ev_data(lines, n - 1), line);
	snprintf(line, sizeof line, "%-70d\r\n", 0);
	ck_assert_str_eq(ev_data(lines, 1), line);
	for (size_t k = 1; k < n; k++)
		if (strcmp(ev_type(lines, k), "m") == 0)
			at_head = k;
	ck_assert_uint_gt(at_head, 1);
	ck_assert_uint_eq(strlen(ev_data(lines, at_head + 1)), 72); /* a whole line after it */
	rec = json_object_get(extra, "recording");
	ck_assert(json_is_true(json_object_get(rec, "truncated")));
	ck_assert_int_eq(json_integer_value(json_object_get(rec, "bytes")), (long long)size);
	json_decref(lines);
	json_decref(extra);
	rec_file_done(&f);
}
END_TEST

START_TEST(paths_only_for_session_ids)
{
	ck_assert(recording_id_valid("0b4f3a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
	ck_assert(!recording_id_valid("../../etc/passwd"));
	ck_assert(!recording_id_valid("0B4F3A9E-1C2D-4E5F-8A9B-0C1D2E3F4A5B"));
	ck_assert(!recording_id_valid("0b4f3a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5"));
	ck_assert(!recording_id_valid(NULL));
}
END_TEST

static void touch(const char *dir, const char *id, long long mtime)
{
	char path[256];
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	int fd;

	snprintf(path, sizeof path, "%s/%s.cast", dir, id);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static bool exists(const char *dir, const char *id)
{
	char path[256];

	snprintf(path, sizeof path, "%s/%s.cast", dir, id);
	return access(path, F_OK) == 0;
}

/* Retention: a recording goes when no row names its session any more. */
START_TEST(sweep_deletes_recordings_without_rows)
{
	static const char *const audited = "00000000-0000-4000-8000-000000000001",
			  *const live = "00000000-0000-4000-8000-000000000002",
			  *const orphan = "00000000-0000-4000-8000-000000000003",
			  *const young = "00000000-0000-4000-8000-000000000004";
	char dbpath[TEST_DB_PATH_MAX], dir[64];
	long long now = 1700000000;
	sqlite3 *db;

	test_db_create(dbpath);
	db = test_db_open(dbpath);
	snprintf(dir, sizeof dir, "/tmp/periscope-unit-sweep-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(sqlite3_exec(db,
		"INSERT INTO audit_events (ts_unix_nano, actor_sub, verb, outcome, session_id)"
		" VALUES (1, 'u', 'ssm_session_close', 'success', '00000000-0000-4000-8000-000000000001');"
		"INSERT INTO shell_sessions (id, kind, actor_sub, cluster, pid, pid_start_ticks, started_at_ms)"
		" VALUES ('00000000-0000-4000-8000-000000000002', 'node_shell', 'u', 'c', 1, 1, 1);",
		NULL, NULL, NULL), SQLITE_OK);
	touch(dir, audited, now - 3600);
	touch(dir, live, now - 3600);
	touch(dir, orphan, now - 3600);
	touch(dir, young, now - 10);
	ck_assert_int_eq(recording_sweep(db, dir, now), 1);
	ck_assert(exists(dir, audited));
	ck_assert(exists(dir, live));
	ck_assert(!exists(dir, orphan));
	ck_assert(exists(dir, young));
	/* The close row deleted by retention: its recording goes at the next pass. */
	ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM audit_events", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(recording_sweep(db, dir, now), 1);
	ck_assert(!exists(dir, audited));
	ck_assert_int_eq(recording_sweep(db, "/tmp/periscope-unit-sweep-none", now), 0);
	for (const char *const *id = (const char *const[]){ live, young, NULL }; *id; id++) {
		char path[256];
		snprintf(path, sizeof path, "%s/%s.cast", dir, *id);
		unlink(path);
	}
	rmdir(dir);
	db_close(db);
	test_db_remove(dbpath);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("recording");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, escapes_json_and_keeps_utf8);
	tcase_add_test(tc, replaces_invalid_utf8_like_asciinema);
	tcase_add_test(tc, header_events_and_close_fields);
	tcase_add_test(tc, input_events_when_asked);
	tcase_add_test(tc, flushed_within_a_second);
	tcase_add_test(tc, a_burst_s_buffer_is_given_back_when_output_slows);
	tcase_add_test(tc, cap_keeps_head_and_tail_with_a_marker);
	tcase_add_test(tc, tail_past_the_cap_is_not_kept_in_memory);
	tcase_add_test(tc, paths_only_for_session_ids);
	tcase_add_test(tc, sweep_deletes_recordings_without_rows);
	tcase_add_test(tc, event_times_are_written_with_six_decimals);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
