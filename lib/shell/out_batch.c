/* The bridge's write pacing towards websocketd (out_batch.h says why). */
#include "shell/out_batch.h"

long long out_batch_wait_us(long long now_us, long long last_write_us, size_t pending)
{
	long long due;

	if (pending == 0)
		return -1;
	if (pending >= OUT_BATCH_BYTES || last_write_us <= 0)
		return 0;
	due = last_write_us + OUT_BATCH_US;
	return now_us >= due ? 0 : due - now_us;
}

int out_batch_timeout_ms(long long wait_us, int timeout_ms)
{
	long long ms;

	if (wait_us <= 0)
		return timeout_ms;
	ms = (wait_us + 999) / 1000;
	return timeout_ms >= 0 && timeout_ms <= ms ? timeout_ms : (int)ms;
}
