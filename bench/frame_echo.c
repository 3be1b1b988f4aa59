/* frame-echo: the least a program behind websocketd can do for a keystroke, the anchor of
 * dev/bench keystroke (the "websocketd cat"): a prompt frame, then for each stdin
 * frame of a read one stdout frame, in one write; it ends at a close frame or end of
 * input. One read and one write a keystroke (a loop of sh's `read` makes a system call a
 * byte). Frames as docs/frames.md; the prompt "$ " lets bench/scale_load.c start typing. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PROMPT "{\"type\":\"stdout\",\"data\":\"JCA=\"}\n"
#define ECHO "{\"type\":\"stdout\",\"data\":\"YQ==\"}\n"

static int say(const char *frame)
{
	return write(STDOUT_FILENO, frame, strlen(frame)) == (ssize_t)strlen(frame) ? 0 : -1;
}

int main(void)
{
	char in[65536];
	ssize_t n;

	if (say(PROMPT) != 0)
		return 1;
	while ((n = read(STDIN_FILENO, in, sizeof in - 1)) > 0) {
		char out[sizeof ECHO * 64] = "";
		size_t keys = 0;

		in[n] = '\0';
		for (const char *p = in; (p = strstr(p, "\"stdin\"")); p++)
			keys++;
		if (strstr(in, "\"close\""))
			return 0;
		for (size_t i = 0; i < keys && i < 64; i++)
			strcat(out, ECHO);
		if (keys && say(out) != 0)
			return 1;
	}
	return 0;
}
