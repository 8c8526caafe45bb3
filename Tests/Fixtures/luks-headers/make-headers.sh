#!/usr/bin/env bash
# Regenerates the committed LUKS2 headers in this directory. They carry real `systemd-tpm2`
# tokens, which need a TPM to enrol: this script uses a throw-away software TPM (swtpm), so it
# needs `apt-get install swtpm swtpm-tools libtss2-esys-3.0.2-0 libtss2-rc0 libtss2-mu0
# libtss2-tcti-swtpm0` besides cryptsetup-bin. The tests themselves need none of these: they read
# the committed files. Only the primary binary header and JSON area (the first hdr_size = 16 KiB)
# are kept: no keyslot material, and the TPM that sealed the tokens is gone.
set -euo pipefail
out="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
stop_tpm() { if [ -f "$work/pid" ]; then kill "$(cat "$work/pid")" 2>/dev/null || true; rm -f "$work/pid"; sleep 0.2; fi; }
trap 'stop_tpm; rm -rf "$work"' EXIT
# A fresh software TPM per header: swtpm has no resource manager, and session contexts run out.
start_tpm() {
  stop_tpm
  rm -rf "$work/tpm" && mkdir "$work/tpm"
  swtpm socket --tpm2 --tpmstate dir="$work/tpm" --server type=tcp,port=2431 --ctrl type=tcp,port=2432 \
    --flags not-need-init,startup-clear --daemon --pid file="$work/pid"
}
tpm="swtpm:port=2431"
pass=test-passphrase-not-secret
printf '%s' "$pass" > "$work/key"

format() {  # format IMAGE PBKDF-MEMORY-KIB: forced cost, so the benchmark cannot lower the memory
  truncate -s 20M "$1"
  cryptsetup luksFormat --type luks2 --batch-mode --key-file "$work/key" \
    --pbkdf argon2id --pbkdf-memory "$2" --pbkdf-force-iterations 4 "$1"
}
keep() {  # keep IMAGE NAME: the first 16 KiB (primary header + JSON area)
  head -c 16384 "$1" > "$out/$2"
}

# A: passphrase keyslot (argon2id, 32 MiB) + systemd-tpm2 keyslot sealed to PCR 7, no PIN.
format "$work/a.img" 32768
start_tpm
PASSWORD="$pass" systemd-cryptenroll --tpm2-device="$tpm" --tpm2-pcrs=7 "$work/a.img"
keep "$work/a.img" luks2-tpm2-pcr7.img

# B: passphrase keyslot (argon2id, 1 GiB) + systemd-tpm2 keyslot with a PIN.
format "$work/b.img" 1048576
start_tpm
PASSWORD="$pass" NEWPIN=123456 systemd-cryptenroll --tpm2-device="$tpm" --tpm2-pcrs=7 --tpm2-with-pin=yes "$work/b.img"
keep "$work/b.img" luks2-tpm2-pin-argon2id-1g.img

# C: only a systemd-tpm2 keyslot with a signed PCR policy (PCR 11); the passphrase slot wiped.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/policy.key" 2>/dev/null
openssl pkey -in "$work/policy.key" -pubout -out "$work/policy.pub"
format "$work/c.img" 32768
start_tpm
PASSWORD="$pass" systemd-cryptenroll --tpm2-device="$tpm" --tpm2-pcrs= --tpm2-public-key="$work/policy.pub" \
  --tpm2-public-key-pcrs=11 "$work/c.img"
PASSWORD="$pass" systemd-cryptenroll --wipe-slot=password "$work/c.img"
keep "$work/c.img" luks2-tpm2-signed-policy.img
