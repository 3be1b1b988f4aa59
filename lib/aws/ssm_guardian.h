/* A guardian for one SSM session: a small process forked by the bridge right after
 * StartSession, which holds the operator's credentials (a copy of the bridge's memory, so
 * they are in no file, no environment and no database) and waits on a pipe from the bridge.
 * It runs in a session and process group of its own, reparented away from the bridge, so
 * whatever kills the bridge (SIGKILL, the OOM killer, a signal to the bridge's group) does
 * not take it. When the bridge ends the SSM session itself it says so on the pipe and the
 * guardian exits; when the pipe reaches end-of-file without that word (the bridge died), the
 * guardian calls TerminateSession with those credentials, retrying briefly, and exits. The
 * bridge passes renewed credentials down the same pipe.
 *
 * Why not sealed credentials for periscope.fcgi's reaper: the credentials would have to be
 * kept at rest under a key the reaper holds, and the reaper would act as the operator; the
 * guardian keeps them where they already are, for exactly as long as the session. */
#ifndef PERISCOPE_SSM_GUARDIAN_H
#define PERISCOPE_SSM_GUARDIAN_H

#include <stddef.h>

#include "aws/ssm_api.h"

struct ssm_guardian {
	int fd;                       /* the pipe's write end; -1 when there is no guardian */
};

/* Forks the guardian of session_id. 0, or -1 with err (no guardian: g->fd is -1). */
int ssm_guardian_start(struct ssm_guardian *g, const struct ssm_client *c, const char *session_id,
		       char *err, size_t errlen);
/* The bridge renewed the operator's credentials (they expire; the session may not): the
 * guardian keeps these instead, for a TerminateSession after the first ones expired. */
void ssm_guardian_update(struct ssm_guardian *g, const struct aws_credentials *c);
/* The bridge terminated the session itself: the guardian exits without a call. */
void ssm_guardian_release(struct ssm_guardian *g);
/* The bridge could not terminate it: the guardian tries (what a death of the bridge does). */
void ssm_guardian_abandon(struct ssm_guardian *g);

#endif
