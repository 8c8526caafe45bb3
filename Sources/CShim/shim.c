#include "CShim.h"

#include <sys/auxv.h>

static int saved_argc;
static char *const *saved_argv;

static void capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}

/* Run by the dynamic loader (or, statically linked, by __libc_start_main) before main. */
__attribute__((section(".init_array"), used))
static void (*const capture_arguments_entry)(int, char **, char **) = capture_arguments;

int warden_argc(void) { return saved_argv ? saved_argc : 0; }
char *const *warden_argv(void) { return saved_argv; }

const char *warden_execfn(void) { return (const char *)getauxval(AT_EXECFN); }
