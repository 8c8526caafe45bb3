#include "CShim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

/* getxattrat's number where the C library's headers predate it (glibc 2.36, Debian 12): 464 in
 * the kernel's tables for x86_64 (arch/x86/entry/syscalls/syscall_64.tbl) and for the generic
 * table arm64 uses (scripts/syscall.tbl), since Linux 6.13. */
#if !defined(SYS_getxattrat) && (defined(__x86_64__) || defined(__aarch64__))
#define SYS_getxattrat 464
#endif

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

long warden_getxattrat(int dirfd, const char *name, const char *attribute, void *value, unsigned int size) {
#ifdef SYS_getxattrat
    /* struct xattr_args of <linux/xattr.h> (Linux 6.13). */
    struct { uint64_t value; uint32_t size; uint32_t flags; } __attribute__((aligned(8))) args = {
        (uint64_t)(uintptr_t)value, size, 0
    };
    return syscall(SYS_getxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, attribute, &args, sizeof args);
#else
    (void)dirfd; (void)name; (void)attribute; (void)value; (void)size;
    errno = ENOSYS;
    return -1;
#endif
}
