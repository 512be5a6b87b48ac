
/*
 * Copyright (C) The ngx_http_hydra_module authors
 *
 * The libFuzzer entry point without libFuzzer: runs one target's
 * LLVMFuzzerTestOneInput() on every file given, and on every file of
 * every directory given, so the committed corpus and regressions are
 * checked by any compiler ("make unit", "make unit-sanitize").  A
 * property that fails aborts, as under the fuzzer, and the file that
 * made it is named (HYDRA_REPLAY_VERBOSE=1 names every file, for what a
 * sanitizer stops on); a file that cannot be read fails the run.
 */


#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"


static int hydra_replay_path(const char *path, size_t *n);
static int hydra_replay_dir(const char *path, size_t *n);
static int hydra_replay_file(const char *path);
static int hydra_replay_name_cmp(const void *a, const void *b);
static void hydra_replay_abort(int signo);


static const char  *hydra_replay_current;
static int          hydra_replay_verbose;


int
main(int argc, char **argv)
{
    int               i, rc;
    size_t            n;
    struct sigaction  sa;

    rc = 0;
    n = 0;
    hydra_replay_verbose = (getenv("HYDRA_REPLAY_VERBOSE") != NULL);

    memset(&sa, 0, sizeof(struct sigaction));
    sa.sa_handler = hydra_replay_abort;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGABRT, &sa, NULL);

    for (i = 1; i < argc; i++) {
        if (hydra_replay_path(argv[i], &n) != 0) {
            rc = 1;
        }
    }

    printf("%s: %zu inputs replayed%s\n", argv[0], n, rc ? ", errors" : "");

    return rc;
}


static int
hydra_replay_path(const char *path, size_t *n)
{
    struct stat  st;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return 1;
    }

    if (S_ISDIR(st.st_mode)) {
        return hydra_replay_dir(path, n);
    }

    (*n)++;

    return hydra_replay_file(path);
}


/* the files of a directory, in name order so that a run is repeatable */

static int
hydra_replay_dir(const char *path, size_t *n)
{
    int              rc;
    DIR             *dir;
    char           **names, **more, *name;
    size_t           i, count, cap, len;
    struct dirent   *de;

    dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return 1;
    }

    names = NULL;
    count = 0;
    cap = 0;
    rc = 0;

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            more = realloc(names, cap * sizeof(char *));
            if (more == NULL) {
                rc = 1;
                break;
            }

            names = more;
        }

        len = strlen(path) + 1 + strlen(de->d_name) + 1;
        name = malloc(len);
        if (name == NULL) {
            rc = 1;
            break;
        }

        snprintf(name, len, "%s/%s", path, de->d_name);
        names[count++] = name;
    }

    closedir(dir);

    if (count > 0) {
        qsort(names, count, sizeof(char *), hydra_replay_name_cmp);
    }

    for (i = 0; i < count; i++) {
        if (rc == 0 && hydra_replay_path(names[i], n) != 0) {
            rc = 1;
        }

        free(names[i]);
    }

    free(names);

    return rc;
}


static int
hydra_replay_file(const char *path)
{
    FILE     *f;
    long      size;
    uint8_t  *data;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return 1;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fprintf(stderr, "replay: %s: cannot size it\n", path);
        fclose(f);
        return 1;
    }

    /* exactly its size, as libFuzzer gives it: a read past it is caught */

    data = malloc(size > 0 ? (size_t) size : 1);
    if (data == NULL
        || (size > 0 && fread(data, 1, (size_t) size, f) != (size_t) size))
    {
        fprintf(stderr, "replay: %s: cannot read it\n", path);
        free(data);
        fclose(f);
        return 1;
    }

    fclose(f);

    hydra_replay_current = path;

    if (hydra_replay_verbose) {
        fprintf(stderr, "replay: %s\n", path);
    }

    (void) LLVMFuzzerTestOneInput(data, (size_t) size);

    hydra_replay_current = NULL;

    free(data);

    return 0;
}


static int
hydra_replay_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


/* names the input that failed a property, then aborts as it would have */

static void
hydra_replay_abort(int signo)
{
    const char  *path;

    path = hydra_replay_current;

    if (path != NULL) {
        (void) write(STDERR_FILENO, "replay: failed on ", 18);
        (void) write(STDERR_FILENO, path, strlen(path));
        (void) write(STDERR_FILENO, "\n", 1);
    }

    raise(signo);
}
