#ifndef WARDEN_COPENSSL_SHIM_H
#define WARDEN_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/opensslv.h>

// Function-like macros Swift cannot import.
static inline void warden_openssl_free(void *p) { OPENSSL_free(p); }
static inline long warden_bio_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }

#endif
