/* A guardian for one SSM session: a small process forked by the bridge, which makes the
 * StartSession call itself and hands the session to the bridge, then holds the operator's
 * credentials (a copy of the bridge's memory, so they are in no file, no environment and no
 * database) and waits on a pipe from the bridge. Making the call in the guardian leaves no
 * moment at which a session exists that no surviving process knows of.
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

/* Forks the guardian, which makes the StartSession call itself (target, reason: as
 * ssm_start_session), so that a bridge killed while the call is under way still leaves the
 * session to someone who learns its id. Answers as ssm_start_session does; on success the
 * guardian guards the session (g->fd >= 0). When no guardian can be forked, the call is made
 * here, unguarded (a warning is logged). */
int ssm_guardian_start_session(struct ssm_guardian *g, const struct ssm_client *c,
			       const char *target, const char *reason,
			       struct ssm_started_session *out, struct aws_error *aerr, char *err,
			       size_t errlen);
/* The bridge renewed the operator's credentials (they expire; the session may not): the
 * guardian keeps these instead, for a TerminateSession after the first ones expired. */
void ssm_guardian_update(struct ssm_guardian *g, const struct aws_credentials *c);
/* The bridge terminated the session itself: the guardian exits without a call. */
void ssm_guardian_release(struct ssm_guardian *g);
/* The bridge could not terminate it: the guardian tries (what a death of the bridge does). */
void ssm_guardian_abandon(struct ssm_guardian *g);

#endif
