#ifndef WARDEN_CSHIM_H
#define WARDEN_CSHIM_H

/* What Swift cannot reach by itself on Linux; nothing here reads the audited host. */

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

#endif
