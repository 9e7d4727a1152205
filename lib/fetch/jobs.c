#include "lib/fetch/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
wipe_auth(bc_job *j)
{
	if (j->auth != NULL) {
		explicit_bzero(j->auth, strlen(j->auth));
		free(j->auth);
		j->auth = NULL;
	}
}

bc_job *
bc_jobs_get(bc_jobs *t, uint64_t id)
{
	for (size_t i = 0; id != 0 && i < BC_JOBS_MAX; i++)
		if (t->slot[i].id == id)
			return &t->slot[i];
	return NULL;
}

bool
bc_jobs_in_flight(const bc_jobs *t, const char *image)
{
	for (size_t i = 0; image != NULL && i < BC_JOBS_MAX; i++)
		if (t->slot[i].id != 0 && t->slot[i].state <= BC_JOB_PULLING &&
		    strcmp(t->slot[i].image, image) == 0)
			return true;
	return false;
}

bc_job *
bc_jobs_submit(bc_jobs *t, const char *image, const char *auth, bool *fresh)
{
	bc_job *j = NULL, *oldest = NULL;

	*fresh = false;
	for (size_t i = 0; i < BC_JOBS_MAX; i++) {
		bc_job *s = &t->slot[i];
		if (s->id != 0 && s->state <= BC_JOB_PULLING && strcmp(s->image, image) == 0)
			return s; /* the same image: one pull serves both */
	}
	for (size_t i = 0; i < BC_JOBS_MAX && j == NULL; i++) {
		bc_job *s = &t->slot[i];
		if (s->id == 0)
			j = s;
		else if (s->state >= BC_JOB_DONE && (oldest == NULL || s->id < oldest->id))
			oldest = s;
	}
	if (j == NULL)
		j = oldest;
	if (j == NULL || strlen(image) >= sizeof(j->image))
		return NULL;
	wipe_auth(j);
	memset(j, 0, sizeof(*j));
	if (auth != NULL && (j->auth = strdup(auth)) == NULL)
		return NULL;
	j->id = ++t->next_id;
	snprintf(j->image, sizeof(j->image), "%s", image);
	j->state = BC_JOB_QUEUED;
	*fresh = true;
	return j;
}

bc_job *
bc_jobs_start_next(bc_jobs *t, char **auth)
{
	bc_job *j = NULL;

	for (size_t i = 0; i < BC_JOBS_MAX; i++) {
		bc_job *s = &t->slot[i];
		if (s->id != 0 && s->state == BC_JOB_QUEUED && (j == NULL || s->id < j->id))
			j = s;
	}
	if (j != NULL) {
		j->state = BC_JOB_PULLING;
		*auth = j->auth;
		j->auth = NULL;
	}
	return j;
}

void
bc_jobs_end(bc_job *j, enum bc_job_state st, const char *image_id, const char *error)
{
	j->state = st;
	snprintf(j->image_id, sizeof(j->image_id), "%s", image_id ? image_id : "");
	snprintf(j->error, sizeof(j->error), "%s",
		 error ? error : st == BC_JOB_CANCELLED ? "cancelled" : "");
	if (st == BC_JOB_DONE)
		j->percent = 100;
	wipe_auth(j);
}

int
bc_jobs_cancel(bc_job *j)
{
	j->cancel = true;
	if (j->state == BC_JOB_QUEUED) {
		bc_jobs_end(j, BC_JOB_CANCELLED, NULL, NULL);
		return 1;
	}
	return 0;
}

const char *
bc_job_state_name(enum bc_job_state st)
{
	static const char *const n[] = {"queued", "pulling", "done", "failed", "cancelled"};
	return st <= BC_JOB_CANCELLED ? n[st] : "?";
}
