#ifndef WARDEN_CSHIM_H
#define WARDEN_CSHIM_H

/* What Swift cannot reach by itself on Linux: the process's own arguments and path, and the
 * extended-attribute calls Swift's Glibc module does not declare. */

/* The process's argument vector as the kernel passed it to the program's entry, captured before
 * main by an .init_array function (glibc calls those with argc, argv and envp). Swift's
 * CommandLine.arguments reads /proc/self/cmdline on Linux, which a container or chroot without
 * /proc does not have: Warden would then see no arguments at all. argc is 0 and argv NULL when
 * the C library did not pass them. */
int warden_argc(void);
char *const *warden_argv(void);

/* The path the program was started by (execve's first argument), from the auxiliary vector the
 * kernel passes every process: how Warden finds itself where /proc/self/exe cannot be read. */
const char *warden_execfn(void);

/* Extended attributes of the audited host's files, never following a final symlink. */

/* lgetxattr(2): <sys/xattr.h>, which Swift's Glibc module does not import. */
#include <sys/xattr.h>

/* getxattrat(2) (Linux 6.13): attribute `attribute` of `name` inside the directory `dirfd`, not
 * following a final symlink, into `value` (`size` bytes). glibc has no wrapper for it. Returns the
 * attribute's length, or -1 with errno: ENOSYS from an older kernel, or on an architecture this
 * shim has no number for. */
long warden_getxattrat(int dirfd, const char *name, const char *attribute, void *value, unsigned int size);

#endif
