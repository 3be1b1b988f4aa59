/* When the bridge writes its queued frames to websocketd: at once when output is
 * occasional (an echo, a prompt: nothing was written in the last OUT_BATCH_US), in batches
 * while output streams (at most one write per OUT_BATCH_US, or sooner once OUT_BATCH_BYTES
 * are queued).
 *
 * Why: the upstream hands output over in the pty's pieces (~4 KiB a message: a pty read
 * returns at most N_TTY_BUF_SIZE), and one write to websocketd per piece makes websocketd
 * (Go) find its pipe empty after every piece: a goroutine parked and woken, an epoll wait,
 * futexes and scheduler spins each time. Measured with dev/bench shells (cat of 16 MB):
 * websocketd spent 8-12 ns a byte relaying the bridge's frames written piece by piece,
 * 3.4-3.8 ns a byte relaying the very same frames from a full pipe. docs/frames.md says
 * what a browser sees (frames unchanged; at most OUT_BATCH_US later while output streams). */
#ifndef PERISCOPE_OUT_BATCH_H
#define PERISCOPE_OUT_BATCH_H

#include <stddef.h>

#define OUT_BATCH_US 2000LL
#define OUT_BATCH_BYTES (64u << 10)

/* now_us and last_write_us on one monotonic clock (last_write_us 0: never written);
 * pending: the bytes queued. Returns -1 when nothing is queued, 0 to write now, else the
 * microseconds until the queued bytes are due. */
long long out_batch_wait_us(long long now_us, long long last_write_us, size_t pending);
/* The poll timeout (milliseconds, -1 = none) that also wakes when held output is due:
 * wait_us from out_batch_wait_us, rounded up so that the wake-up is never early (an early
 * one would find the output still held and poll again at once). */
int out_batch_timeout_ms(long long wait_us, int timeout_ms);

#endif
