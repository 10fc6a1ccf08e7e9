/* tls_cert.c - a self-signed certificate for the gateway. See tls_cert.h.
 * The browser will warn about it once; an admin who wants none of that
 * gives web.cert and web.key (a real certificate, or one for the reverse
 * proxy in front). */
#include "web/tls_cert.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/util.h"

/* Write with f into path atomically (a temporary, then rename), mode. */
static int write_pem(const char *path, mode_t mode, int (*f)(FILE *, void *), void *obj) {
        char tmp[PATH_MAX];
        if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
                return -ENAMETOOLONG;
        (void)unlink(tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        FILE *fp = fdopen(fd, "w");
        if (!fp) {
                close(fd);
                return -errno;
        }
        int ok = f(fp, obj);
        if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
                ok = 0;
        fclose(fp);
        if (!ok || rename(tmp, path) < 0) {
                (void)unlink(tmp);
                return -EIO;
        }
        return 0;
}

static int write_key(FILE *fp, void *k) { return PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL); }
static int write_x509(FILE *fp, void *x) { return PEM_write_X509(fp, x); }

static int add_ext(X509 *x, int nid, const char *value) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (!e)
                return -EINVAL;
        int ok = X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        return ok ? 0 : -EINVAL;
}

static int make(const char *cert_path, const char *key_path, const char *hostname, Error *err) {
        int r = -EIO;
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *x = X509_new();
        uint8_t serial[16];
        if (!key || !x || RAND_bytes(serial, sizeof(serial)) != 1)
                goto out;
        serial[0] &= 0x7f; /* a positive serial */
        BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
        if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) {
                BN_free(bn);
                goto out;
        }
        BN_free(bn);
        X509_set_version(x, 2);
        X509_gmtime_adj(X509_getm_notBefore(x), -3600);
        X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
        X509_set_pubkey(x, key);
        X509_NAME *name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)hostname, -1, -1, 0);
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"vmbatch console gateway", -1, -1,
                                   0);
        X509_set_issuer_name(x, name);
        /* browsers match the name against subjectAltName only */
        char san[600];
        snprintf(san, sizeof(san), "DNS:%s,DNS:localhost,IP:127.0.0.1", hostname);
        if (add_ext(x, NID_subject_alt_name, san) < 0 || add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
            add_ext(x, NID_ext_key_usage, "serverAuth") < 0 || X509_sign(x, key, EVP_sha256()) == 0)
                goto out;
        /* the key before the certificate: a certificate on disc means both are */
        if ((r = write_pem(key_path, 0600, write_key, key)) < 0 || (r = write_pem(cert_path, 0644, write_x509, x)) < 0)
                error_set(err, r, "cannot write %s or %s: %s", key_path, cert_path, strerror(-r));
out:
        if (r == -EIO && err && !err->code)
                error_set(err, r, "cannot make a self-signed certificate (OpenSSL)");
        X509_free(x);
        EVP_PKEY_free(key);
        return r;
}

int tls_cert_ensure(const char *dir, const char *hostname, char *ret_cert, size_t cert_len, char *ret_key,
                    size_t key_len, Error *err) {
        if (snprintf(ret_cert, cert_len, "%s/cert.pem", dir) >= (int)cert_len ||
            snprintf(ret_key, key_len, "%s/key.pem", dir) >= (int)key_len)
                return error_set(err, -ENAMETOOLONG, "state folder name too long: %s", dir);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return error_set(err, -errno, "cannot make %s: %m", dir);
        struct stat st;
        if (stat(ret_cert, &st) == 0 && stat(ret_key, &st) == 0)
                return 0; /* made at an earlier start: the browser's exception still holds */
        return make(ret_cert, ret_key, hostname, err);
}
