// Linux system calls that glibc does not wrap (or that Swift cannot call through a variadic
// function), as static inline shims. Imported by HostFacts only.
#ifndef WARDEN_CLINUX_SHIM_H
#define WARDEN_CLINUX_SHIM_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

// getxattrat(2), Linux 6.13: one extended attribute of `name`, looked up relative to the
// directory descriptor `dfd`. The number is the same on every architecture (new system calls
// share one table since Linux 5.1).
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif

struct warden_xattr_args {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

/// The attribute's length, or -1 with errno set (ENOSYS before Linux 6.13).
static inline long warden_getxattrat(int dfd, const char *name, unsigned int at_flags, const char *attribute,
                                     void *value, uint32_t size) {
    struct warden_xattr_args args = { (uint64_t)(uintptr_t)value, size, 0 };
    return syscall(SYS_getxattrat, dfd, name, at_flags, attribute, &args, sizeof args);
}

#endif
