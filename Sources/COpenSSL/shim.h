#ifndef WARDEN_COPENSSL_SHIM_H
#define WARDEN_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>
#include <openssl/provider.h>
#include <openssl/store.h>

// Function-like macros Swift cannot import.
static inline void warden_openssl_free(void *p) { OPENSSL_free(p); }
static inline long warden_bio_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }

// A passphrase callback that refuses: Warden never prompts, so an encrypted key fails to load
// instead of waiting for a terminal.
static inline int warden_no_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

static inline EVP_PKEY *warden_read_private_key(BIO *bio, OSSL_LIB_CTX *libctx) {
    return PEM_read_bio_PrivateKey_ex(bio, NULL, warden_no_passphrase, NULL, libctx, NULL);
}

static inline EVP_PKEY *warden_read_public_key(BIO *bio) {
    return PEM_read_bio_PUBKEY(bio, NULL, warden_no_passphrase, NULL);
}

// Unencrypted PKCS#8 PEM.
static inline int warden_write_private_key(BIO *bio, EVP_PKEY *pkey) {
    return PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
}

// EVP_PKEY_Q_keygen is variadic.
static inline EVP_PKEY *warden_generate_ed25519(void) { return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); }
static inline EVP_PKEY *warden_generate_p256(void) { return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); }

#endif
