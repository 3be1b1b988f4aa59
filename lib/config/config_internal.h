/* Internals of the configuration loader, shared by lib/config*.c, the unit tests and the
 * fuzz target. Nothing outside the loader should include this. */
#ifndef PERISCOPE_CONFIG_INTERNAL_H
#define PERISCOPE_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* Largest config, clusters or secret file read, so that a wrong path (a device, a huge
 * log) fails fast instead of eating memory. */
#define CONFIG_MAX_FILE_BYTES (1024 * 1024)
#define CONFIG_MAX_SECRET_BYTES (64 * 1024)

/* Parses yaml (len bytes, not NUL-terminated; NULL = no file) as if read from a file
 * called name, then applies PERISCOPE_CLUSTERS_FILE, the env overrides and validation,
 * exactly like config_load. */
struct config *config_load_from_memory(const char *yaml, size_t len, const char *name,
				       char *err, size_t errlen);

/* The kinds of value a key can hold. Each one parses from the text of a YAML scalar or of
 * an environment variable, and names itself in "expected ..." messages. */
enum cfg_type {
	CFG_STRING,
	CFG_OPT_STRING,     /* per-cluster override: NULL unless set to a non-empty string */
	CFG_URL,            /* "" or an http:// / https:// URL */
	CFG_BOOL,
	CFG_TRISTATE,       /* a bool stored as an int: -1 unset, 0, 1 */
	CFG_POS_INT,
	CFG_NONNEG_INT,
	CFG_POS_INT64,
	CFG_POS_DURATION,   /* integer seconds or "90s", "30m", "8h", "1h30m" */
	CFG_NONNEG_DURATION,
	CFG_TIER,           /* a tier name, or "" for none */
	CFG_AUTHZ_MODE,
	CFG_BACKEND,
	CFG_PULL_POLICY,
	CFG_SHELL_MODE,
	CFG_STRING_LIST,
	CFG_TIER_LIST,
	/* Only in the YAML schema: */
	CFG_GROUP_TIERS,
	CFG_MAP,
	CFG_CLUSTERS,
};

/* What a value of type t must look like, e.g. "a positive integer". */
const char *cfg_type_expectation(enum cfg_type t);

/* Parses text into the field at dst (of type t; not for lists or maps). from_env widens
 * booleans to 1/0 and trims surrounding blanks of non-string values. Returns 0, -1 when
 * the text does not fit the type, -2 when out of memory. */
int cfg_parse_scalar(enum cfg_type t, const char *text, bool from_env, void *dst);

/* Writes s as a double-quoted, escaped, possibly shortened string into out. */
void cfg_quote(const char *s, char *out, size_t outlen);

int cfg_replace_string(char **field, const char *value);
void string_list_clear(struct string_list *list);
int string_list_append(struct string_list *list, const char *s);

/* Where a key got its value from, for messages about values that only turn out wrong
 * when the whole config is known (a secret reference, a cluster's ARN). */
struct cfg_origin {
	char *path;        /* dotted key path, e.g. "clusters[1].arn" */
	const char *file;  /* NULL when from env */
	int line;
	const char *env;   /* env var name, NULL when from a file */
};

/* State of one load: the config being built, values that only exist in the file
 * (image repository and tag), where each value came from, and the error sink. */
struct cfg_loader {
	struct config *cfg;
	char *image_repository;
	char *image_tag;
	struct cfg_origin *origins;
	size_t origins_count;
	size_t origins_cap;
	char *main_file;       /* name of the main YAML, NULL when none */
	char *clusters_file;   /* name of PERISCOPE_CLUSTERS_FILE, NULL when none */
	char *err;
	size_t errlen;
};

int cfg_record_origin(struct cfg_loader *ld, const char *path, const char *file, int line,
		      const char *env);
/* The latest origin recorded for path, or NULL. */
const struct cfg_origin *cfg_find_origin(const struct cfg_loader *ld, const char *path);
/* Forgets every origin whose path starts with prefix (when a list is replaced). */
void cfg_forget_origins(struct cfg_loader *ld, const char *prefix);

/* Error messages: "<file>:<line>: <path>: <message>", or "<env>: <message>". */
void cfg_fail_at(struct cfg_loader *ld, const char *file, int line, const char *path,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Prefixes the message with where path's value came from (file:line or env var); when it
 * came from nowhere, with the main file's name (if any) and the path. */
void cfg_fail_key(struct cfg_loader *ld, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Replaces a secret reference ("${ENV_VAR}", "file:/path") in *field by its value; a
 * literal stays. 0 or -1 with the message (naming what, never the secret) in ld->err. */
int cfg_resolve_secret(struct cfg_loader *ld, const char *path, const char *what, char **field);
/* database.url and database.password (config_database.c). */
int cfg_validate_database(struct cfg_loader *ld);

/* Steps of a load, in order. Each returns 0 or -1 with the message in ld->err. */
int cfg_set_defaults(struct cfg_loader *ld);
void cfg_cluster_defaults(struct cluster_config *c);
void config_free_clusters(struct config *cfg);
/* clusters_only: the file may hold nothing but the `clusters:` key. */
int cfg_yaml_apply(struct cfg_loader *ld, const char *yaml, size_t len, const char *name,
		   bool clusters_only);
int cfg_compose_image(struct cfg_loader *ld);
int cfg_env_apply(struct cfg_loader *ld);
int cfg_validate(struct cfg_loader *ld);

/* The env overrides, for docs and the tests: each PERISCOPE_* name and the key it sets. */
struct cfg_env_var {
	const char *name;
	const char *path;
	enum cfg_type type;
	size_t offset;     /* of the field inside struct config */
};
extern const struct cfg_env_var cfg_env_vars[];
extern const size_t cfg_env_vars_count;

/* Reads a whole file of at most max bytes; -1 with a message (errno text) in why. */
int cfg_read_file(const char *path, size_t max, char **out, size_t *outlen, char *why,
		  size_t whylen);

/* Levenshtein distance, capped: returns cap + 1 as soon as it exceeds cap. */
size_t cfg_edit_distance(const char *a, const char *b, size_t cap);

#endif
