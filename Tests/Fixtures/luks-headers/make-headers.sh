#!/usr/bin/env bash
# Regenerates the committed LUKS2 headers in this directory. They carry real `systemd-tpm2`
# tokens, which need a TPM to enrol: this script uses a throw-away software TPM (swtpm), so it
# needs `apt-get install swtpm swtpm-tools libtss2-esys-3.0.2-0 libtss2-rc0 libtss2-mu0
# libtss2-tcti-swtpm0` besides cryptsetup-bin, and for the clevis headers `clevis clevis-luks
# clevis-tpm2 jose tpm2-tools libpwquality-tools` (clevis 19: `clevis luks bind` makes its key with
# pwmake). The tang server is not needed: clevis takes its advertisement from a file, made here
# with jose as tangd-keygen would. The tests themselves need none of these: they read the
# committed files. Only the primary binary header and JSON area (the first hdr_size = 16 KiB)
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

# D: passphrase keyslot (argon2id, 1 GiB) + systemd-tpm2 keyslot with a PIN and a signed PCR
# policy (PCR 11) besides PCR 7: what ENC-004 asks for at SL4.
format "$work/d.img" 1048576
start_tpm
PASSWORD="$pass" NEWPIN=123456 systemd-cryptenroll --tpm2-device="$tpm" --tpm2-pcrs=7 --tpm2-with-pin=yes \
  --tpm2-public-key="$work/policy.pub" --tpm2-public-key-pcrs=11 "$work/d.img"
keep "$work/d.img" luks2-tpm2-pin-signed-policy.img

# E and F: passphrase keyslot + a clevis sss token over a tpm2 pin and a tang pin, with threshold
# 2 (both needed: ENC-004's SL3 alternative) and 1 (either alone: machine state or the server).
jose jwk gen -i '{"alg":"ES512"}' -o "$work/sig.jwk"
jose jwk gen -i '{"alg":"ECMR"}' -o "$work/exc.jwk"
jose jwk pub -s -i "$work/sig.jwk" -i "$work/exc.jwk" -o "$work/pub.jwks"
jose jws sig -I "$work/pub.jwks" -k "$work/sig.jwk" -s '{"protected":{"cty":"jwk-set+json"}}' -o "$work/adv.jws"
for t in 2 1; do
  format "$work/sss$t.img" 32768
  start_tpm
  TPM2TOOLS_TCTI="$tpm" clevis luks bind -y -d "$work/sss$t.img" -k "$work/key" sss \
    "{\"t\":$t,\"pins\":{\"tpm2\":{\"pcr_ids\":\"7\"},\"tang\":[{\"url\":\"http://tang.example\",\"adv\":\"$work/adv.jws\"}]}}"
  keep "$work/sss$t.img" "luks2-clevis-sss-t$t-tpm2-tang.img"
done
