/* The extra column with members already JSON (a transcript): spliced into extra's dump,
 * stored as one object, and kept off the log line. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/audit.h"
#include "store/db.h"
#include "unit.h"
#include "unit_db.h"

START_TEST(raw_members_follow_extra_s_own)
{
	json_t *extra = json_pack("{s:s, s:i}", "session_id", "s-1", "transcript_bytes", 5);
	struct audit_event ev = { .verb = "ssm_session_close", .extra = extra,
				  .extra_raw = "\"transcript\":\"a\\\"b\"" };
	char *text = audit_extra_text(&ev);

	ck_assert_str_eq(text, "{\"session_id\":\"s-1\",\"transcript_bytes\":5,\"transcript\":\"a\\\"b\"}");
	free(text);
	/* Without extra of its own. */
	ev.extra = NULL;
	text = audit_extra_text(&ev);
	ck_assert_str_eq(text, "{\"transcript\":\"a\\\"b\"}");
	free(text);
	/* Neither: no column text. */
	ev.extra_raw = "";
	ck_assert_ptr_null(audit_extra_text(&ev));
	/* Only extra: jansson's dump, as before. */
	ev.extra = extra;
	text = audit_extra_text(&ev);
	ck_assert_str_eq(text, "{\"session_id\":\"s-1\",\"transcript_bytes\":5}");
	free(text);
	json_decref(extra);
}
END_TEST

/* At a node shell's close the members are a megabyte of transcript in the bridge's buffer:
 * the column's text is built there, byte for byte the copy's, with no second buffer. */
START_TEST(the_text_built_in_the_members_buffer_is_the_copy_s)
{
	static const char raw[] = "\"transcript\":\"a\\\"b\"";
	json_t *extra = json_pack("{s:s, s:i}", "session_id", "s-1", "transcript_bytes", 5);
	struct buf b;
	struct audit_event ev = { .verb = "ssm_session_close", .extra = extra, .extra_raw_buf = &b };
	const char *in_place;
	char *copy, *data;

	for (int with_extra = 1; with_extra >= 0; with_extra--) {
		ev.extra = with_extra ? extra : NULL;
		buf_init(&b, 1 << 20);
		ck_assert_ptr_nonnull(buf_room(&b, 4096));   /* room: nothing moves elsewhere */
		ck_assert_int_eq(buf_append_str(&b, raw), 0);
		data = b.data;
		ev.extra_raw = b.data;
		copy = audit_extra_text(&ev);
		in_place = audit_extra_text_in_place(&ev);
		ck_assert_ptr_nonnull(copy);
		ck_assert_ptr_eq(in_place, data);
		ck_assert_str_eq(in_place, copy);
		ck_assert_uint_eq(b.len, strlen(copy));
		free(copy);
		buf_free(&b);
	}
	json_decref(extra);
}
END_TEST

START_TEST(the_row_reads_back_as_one_object)
{
	char path[TEST_DB_PATH_MAX];
	sqlite3 *db;
	json_t *extra = json_pack("{s:s}", "session_id", "s-2"), *row = NULL, *x;
	static const char *const keys[] = { "transcript", NULL };
	struct audit_event ev = { .actor_sub = "alice", .verb = "ssm_session_close",
				  .outcome = "success", .extra = extra,
				  .extra_raw = "\"transcript\":\"line\\r\\n\\u001B[0m\"",
				  .extra_raw_keys = keys };
	long long id = 0;
	struct buf members;

	test_db_create(path);
	db = test_db_open(path);
	ck_assert_int_eq(audit_write(db, &ev, &id), 0);
	ck_assert_int_eq(audit_get(db, id, NULL, &row), 1);
	x = json_object_get(row, "extra");
	ck_assert_str_eq(json_string_value(json_object_get(x, "session_id")), "s-2");
	ck_assert_str_eq(json_string_value(json_object_get(x, "transcript")), "line\r\n\x1b[0m");
	json_decref(row);
	/* The same from the bridge's buffer, built in place. */
	buf_init(&members, 1 << 20);
	ck_assert_int_eq(buf_append_str(&members, ev.extra_raw), 0);
	ev.extra_raw = members.data;
	ev.extra_raw_buf = &members;
	ck_assert_int_eq(audit_write(db, &ev, &id), 0);
	ck_assert_int_eq(audit_get(db, id, NULL, &row), 1);
	x = json_object_get(row, "extra");
	ck_assert_str_eq(json_string_value(json_object_get(x, "session_id")), "s-2");
	ck_assert_str_eq(json_string_value(json_object_get(x, "transcript")), "line\r\n\x1b[0m");
	json_decref(row);
	buf_free(&members);
	json_decref(extra);
	db_close(db);
	test_db_remove(path);
}
END_TEST

static Suite *audit_extra_suite(void)
{
	Suite *s = suite_create("audit_extra");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, raw_members_follow_extra_s_own);
	tcase_add_test(tc, the_text_built_in_the_members_buffer_is_the_copy_s);
	tcase_add_test(tc, the_row_reads_back_as_one_object);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(audit_extra_suite)
