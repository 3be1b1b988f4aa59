/* Fuzz target: any bytes as SQL for the placeholder translation (store/dbx_sql.h). What it
 * accepts must come out with no "?" left outside quotes and comments, every $N within the
 * count it reports, and the text outside placeholders unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/dbx.h"
#include "store/dbx_sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *sql = malloc(size + 1), *out = NULL;
	int n = -1;

	if (!sql)
		return 0;
	memcpy(sql, data, size);
	sql[size] = '\0'; /* SQL text ends at the first NUL, as for the engines */
	if (dbx_translate_placeholders(sql, DBX_MAX_PARAMS, &out, &n) == 0) {
		size_t i = 0, j = 0;

		if (!out || n < 0 || n > DBX_MAX_PARAMS)
			abort();
		/* Walk both: equal outside placeholders; each ? became $<1..n>. */
		while (sql[i]) {
			if (sql[i] == '?' && out[j] == '$') {
				long v = strtol(out + j + 1, NULL, 10);

				if (v < 1 || v > n)
					abort();
				i++;
				while (sql[i] >= '0' && sql[i] <= '9')
					i++;
				j++;
				while (out[j] >= '0' && out[j] <= '9')
					j++;
			} else if (sql[i++] != out[j++]) {
				abort();
			}
		}
		if (out[j] != '\0')
			abort();
	} else if (out || n != 0) {
		abort();
	}
	free(out);
	free(sql);
	return 0;
}
