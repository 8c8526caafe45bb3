#!/bin/sh
# Hardens a Debian 12 root by following, control by control, what each control's `remediation:`
# in Profiles/controls/*.yaml says (issue 14 (b)). Tests/WardenCLITests/HardenedRootTests.swift
# runs it inside a discarded overlay of the Scripts/roots base and audits the result at SL3 and
# SL4 with Tests/Roots/hardened-site.yaml: every control addressed here must then pass, so a
# remediation that does not work on Debian 12 fails a test. docs/HARDENED-ROOT.md has the table.
#
#   Scripts/in-root --layer Tests/Roots/hardened --outside "$(Scripts/roots)" sh -c \
#     'Scripts/in-root --direct "$WARDEN_ROOT_VIEW" /bin/sh -s < Tests/Roots/harden-debian12.sh &&
#      warden audit --root "$WARDEN_ROOT_VIEW" --site Tests/Roots/hardened-site.yaml --profile sl4 --no-sign'
#
# (the outer in-root makes a discarded overlay of the cached base; the inner one chroots into
# that overlay with /proc and /dev, so what the script writes stays for the audit that follows.)
# Tests/Roots/hardened/ is what the site itself brings: its log server's CA certificate.
#
# Run as root inside the root, offline: it writes files, and runs only commands that write files
# (useradd, ssh-keygen, systemctl enable, which only makes symlinks in a chroot, augenrules
# without --load, aide --init, journalctl --setup-keys, grub-mkconfig). Nothing is started or
# loaded: what a remediation does to the running host (`sysctl --system`, `augenrules --load`,
# `systemctl reload ssh`, `modprobe -r`, restarting journald) is left to the next boot.
# `update-grub` cannot find the devices of / and /boot in a chroot: grub-mkconfig runs with a
# stand-in grub-probe (see INT-009). Controls that need runtime state (mounts, /sys, listeners)
# or hardware (a TPM, a LUKS volume under the weights) stay not_checked offline; docs/HARDENED-ROOT.md
# lists them with the reason.
#
#   WARDEN_HARDEN_AIDE_LIMIT=REGEX  builds AIDE's database over the paths matching REGEX only
#                                   (a full aideinit takes over a minute; the test uses ^/etc/)
#
# The site is Tests/Roots/hardened-site.yaml: weights in /srv/weights owned by mlsvc:weights, a
# canary /srv/weights/.canary, the break-glass group weights-breakglass, SSH for the group
# weights-admins, tcp/22 the only listener. Each
# block below starts with `# --- ` and the controls it addresses: the test reads those lines.
set -eu

WEIGHTS=/srv/weights          # the site file's weights.paths
OWNER=mlsvc                   # weights.owner
GROUP=weights                 # weights.group
CANARY=$WEIGHTS/.canary       # weights.canary
SSH_GROUP=weights-admins      # the group allowed to log in over SSH (ACC-007)
BREAK_GLASS=weights-breakglass # weights.break_glass_group, also in weights.allowed_principals

say() { echo "harden: $*" >&2; }
# Writes stdin to a file with a mode (and root:root): `put MODE PATH <<EOF`.
put() { mkdir -p "$(dirname "$2")"; cat >"$2"; chown root:root "$2"; chmod "$1" "$2"; }

export DEBIAN_FRONTEND=noninteractive
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# --- EXF-005: the site: its account, group and weights, registered in the site file (weights.paths)
getent group "$GROUP" >/dev/null || groupadd --system "$GROUP"
getent passwd "$OWNER" >/dev/null ||
  useradd --system --gid "$GROUP" --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$OWNER"
getent group "$SSH_GROUP" >/dev/null || groupadd "$SSH_GROUP"
mkdir -p "$WEIGHTS/model"
# A safetensors file: an 8-byte little-endian header length, the JSON header, 2 MiB of tensor data.
header='{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[1024,512],"data_offsets":[0,2097152]}}'
{
  printf "\\$(printf %o ${#header})\\000\\000\\000\\000\\000\\000\\000"
  printf %s "$header"
  head -c 2097152 /dev/zero
} >"$WEIGHTS/model/model.safetensors"
printf 'canary: reading this file raises an alert\n' >"$CANARY"

# --- ACC-001: weights owned by the site's weights.owner and weights.group; SL4 modes --------
chown -R "$OWNER:$GROUP" "$WEIGHTS"
find "$WEIGHTS" -type d -exec chmod 0750 {} + -o -type f -exec chmod 0440 {} +

# --- ACC-002: no named ACL entries on the weights ------------------------------------------
if command -v setfacl >/dev/null 2>&1; then setfacl -R -b "$WEIGHTS"; fi

# --- ACC-003: no person in the weights' group; people only through the break-glass group ----
# A person is a login account as ACC-007 counts them: a UID from login.defs' UID_MIN to UID_MAX
# and a shell that gives a session.
uid_range=$(awk '$1 == "UID_MIN" { min = $2 } $1 == "UID_MAX" { max = $2 }
  END { print (min == "" ? 1000 : min), (max == "" ? 60000 : max) }' /etc/login.defs)
for member in $(getent group "$GROUP" | cut -d: -f4 | tr , ' '); do
  getent passwd "$member" | awk -F: -v range="$uid_range" '
    BEGIN { split(range, r, " ") }
    { n = split($7, s, "/"); shell = s[n] }
    $3 + 0 >= r[1] + 0 && $3 + 0 <= r[2] + 0 && shell != "nologin" && shell != "false" && shell != "true" { found = 1 }
    END { exit !found }' && gpasswd -d "$member" "$GROUP"
done
getent group "$BREAK_GLASS" >/dev/null || groupadd "$BREAK_GLASS"
if command -v setfacl >/dev/null 2>&1; then
  setfacl -R -m "g:$BREAK_GLASS:rX" "$WEIGHTS"
  find "$WEIGHTS" -type d -exec setfacl -d -m "g:$BREAK_GLASS:rX" {} +
fi

# --- ACC-004, ACC-005, ACC-006, ACC-007, ACC-010, ACC-011: sshd drop-in ---------------------
# Debian's sshd_config includes /etc/ssh/sshd_config.d/*.conf on its first line, and the first
# value sshd reads wins, so a drop-in overrides the main file (X11Forwarding yes at line 90).
# SL4's user CA: the private key belongs off the host; only the public key stays.
ssh-keygen -q -t ed25519 -N '' -C 'user CA (test; private key discarded)' -f /root/user_ca
mv /root/user_ca.pub /etc/ssh/user_ca.pub
rm -f /root/user_ca
chmod 0644 /etc/ssh/user_ca.pub
put 0644 /etc/ssh/sshd_config.d/60-warden.conf <<EOF
# ACC-004: no root login over SSH (SL3 also accepts prohibit-password).
PermitRootLogin no
# ACC-005: no passwords.
PasswordAuthentication no
PermitEmptyPasswords no
KbdInteractiveAuthentication no
# ACC-006: only FIDO keys (SL4), their certificates included (ACC-007 at SL4 allows only
# certificates, so plain sk- keys alone would let nobody in).
PubkeyAcceptedAlgorithms sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com
# ACC-006: the key must prove a person is there: its PIN and a touch (RAND SL2's FIDO MFA).
PubkeyAuthOptions verify-required
# ACC-007: named group; certificates from the user CA, no authorized_keys files (so root has
# none either).
AllowGroups $SSH_GROUP
TrustedUserCAKeys /etc/ssh/user_ca.pub
AuthorizedKeysFile none
# ACC-010: no forwarding of any kind.
DisableForwarding yes
PermitTunnel no
PermitUserEnvironment no
# ACC-011: few attempts, idle sessions closed (SL4: 300 s).
MaxAuthTries 4
ClientAliveInterval 300
EOF

# --- ACC-006, ACC-008, LOG-009: sudo authenticates, asks the FIDO key again after a minute,
# uses a pty, records sessions (I/O logs, which SL4 requires) ---------------------------------
put 0440 /etc/sudoers.d/60-warden <<'EOF'
Defaults use_pty
Defaults timestamp_timeout=1
Defaults log_output
Defaults iolog_dir=/var/log/sudo-io
EOF
visudo -c -q
# ACC-006: pam_u2f first on sudo's and sudo -i's auth stacks. An operator installs libpam-u2f
# and collects each administrator's `pamu2fcfg` line (key plugged in) before this step; a chroot
# has no key to enrol, so a placeholder line stands where that output goes, and libpam-u2f is
# not installed here (Warden reads the stack, not the module's file).
put 0644 /etc/u2f_mappings <<'EOF'
admin:placeholder-credential-from-pamu2fcfg,placeholder-public-key,es256,+presence+pin
EOF
for service in sudo sudo-i; do
  grep -q '^auth required pam_u2f.so' "/etc/pam.d/$service" ||
    sed -i '/^@include common-auth/i auth required pam_u2f.so authfile=/etc/u2f_mappings cue' "/etc/pam.d/$service"
done

# --- ACC-009: only root has UID 0, no empty passwords ---------------------------------------
# Which of the two (a UID of its own, or userdel) is the site's choice: stop and say so.
extra=$(awk -F: '$3 == 0 && $1 != "root" { print $1 }' /etc/passwd)
if [ -n "$extra" ]; then say "ACC-009: UID 0 besides root: $extra (usermod -u or userdel)"; exit 1; fi
awk -F: '$2 == "" { print $1 }' /etc/shadow | while read -r u; do passwd -q -l "$u"; done

# --- ACC-012: AppArmor enabled, no complain-mode profile -----------------------------------
systemctl enable apparmor.service >/dev/null 2>&1
rm -f /etc/apparmor.d/force-complain/*

# --- ACC-014: strong SSH keys and password hashes -------------------------------------------
# Host keys: the defaults sshd loads, each with its .pub; no DSA, no RSA below 3072 bits (a short
# one is replaced: clients then see a new fingerprint).
ssh-keygen -A
for key in /etc/ssh/ssh_host_*_key; do
  [ -e "$key" ] || continue
  [ -e "$key.pub" ] || ssh-keygen -y -f "$key" >"$key.pub"
  fingerprint=$(ssh-keygen -l -f "$key.pub") # "BITS SHA256:… COMMENT (TYPE)"
  case $fingerprint in
    *"(DSA)") rm -f "$key" "$key.pub" ;;
    *"(RSA)")
      if [ "${fingerprint%% *}" -lt 3072 ]; then
        rm -f "$key" "$key.pub"
        ssh-keygen -q -t rsa -b 4096 -N '' -f "$key"
      fi
      ;;
  esac
done
# New passwords in yescrypt (Debian 12's common-password already tells pam_unix `yescrypt`).
if grep -q '^[[:space:]]*ENCRYPT_METHOD[[:space:]]' /etc/login.defs; then
  sed -i 's/^[[:space:]]*ENCRYPT_METHOD[[:space:]].*/ENCRYPT_METHOD YESCRYPT/' /etc/login.defs
else
  echo 'ENCRYPT_METHOD YESCRYPT' >>/etc/login.defs
fi
# An old hash is changed by its owner (`passwd NAME`): stop and name the accounts.
weak=$(awk -F: '{ h = $2; sub(/^!+/, "", h) }
  h != "" && h !~ /^\*/ && h !~ /^\$(y|gy|6)\$/ { print $1 }' /etc/shadow)
if [ -n "$weak" ]; then say "ACC-014: password hashes of an old scheme: $weak (passwd NAME)"; exit 1; fi

# --- ACC-015: who may access the weights was reviewed within six months ---------------------
# Nothing on the host: the review is recorded in the site file (hardened-site.yaml's
# weights.access_review, its day and reviewer), renewed at each review of weights.allowed_principals.

# --- ENC-006: no hibernation -----------------------------------------------------------------
put 0644 /etc/systemd/sleep.conf.d/90-no-hibernate.conf <<'EOF'
[Sleep]
AllowHibernation=no
AllowHybridSleep=no
AllowSuspendThenHibernate=no
EOF
sed -i 's/ *resume=[^ "]*//g' /etc/default/grub
put 0644 /etc/initramfs-tools/conf.d/resume <<'EOF'
RESUME=none
EOF
# (`update-initramfs -u` puts it in the initramfs; not run here: it rebuilds /boot/initrd.img,
# which nothing audited reads, and takes half a minute.)

# --- EXF-001, EXF-002, EXF-003: modules that are never loaded ------------------------------
put 0644 /etc/modprobe.d/60-warden.conf <<'EOF'
# EXF-001
install usb-storage /bin/false
blacklist usb-storage
# EXF-002
install firewire-core /bin/false
# EXF-003
install bluetooth /bin/false
install btusb /bin/false
EOF
# EXF-001 (SL3 and SL4): USBGuard denies every USB device not approved, keyboards included. Its
# policy, /etc/usbguard/rules.conf, is what Debian's package generated at install (`usbguard
# generate-policy`: the devices present); in this chroot there were none, so it is empty. On a
# server, first keep the remote console: the BMC's virtual keyboard by id, port and serial
# (`usbguard list-devices`), for example
#   allow id 046b:ff10 serial "" name "Virtual Keyboard and Mouse" via-port "1-1.2"
# and no rule that allows by interface alone (`allow with-interface 03:*:*`).
for setting in ImplicitPolicyTarget=block PresentDevicePolicy=apply-policy AuthorizedDefault=none; do
  sed -i "s/^${setting%%=*}=.*/$setting/" /etc/usbguard/usbguard-daemon.conf
  grep -qx "$setting" /etc/usbguard/usbguard-daemon.conf || echo "$setting" >> /etc/usbguard/usbguard-daemon.conf
done
# usbguard-daemon refuses to start with a configuration or rule file others can read.
chmod 0600 /etc/usbguard/usbguard-daemon.conf /etc/usbguard/rules.conf
systemctl enable usbguard.service >/dev/null 2>&1

# --- INT-003 (SL4): no module loading after boot -------------------------------------------
# systemd-sysctl runs after systemd-modules-load: every module the host needs after boot (`lsmod`
# on the running host: network and storage drivers udev would load, nf_tables for nftables…) is
# listed first, then kernel.modules_disabled = 1 in sysctl.d shuts the door. This root has no
# hardware; the list names what its own services load on demand.
put 0644 /etc/modules-load.d/60-warden.conf <<'EOF'
# Loaded before systemd-sysctl sets kernel.modules_disabled = 1 (60-warden.conf in sysctl.d).
nf_tables
EOF

# --- HRD-001, HRD-002, HRD-003, HRD-004, HRD-005, HRD-007, HRD-010, INT-003 (SL4): sysctl.d ----
put 0644 /etc/sysctl.d/60-warden.conf <<'EOF'
# HRD-001
kernel.yama.ptrace_scope = 2
# HRD-002
kernel.kptr_restrict = 2
kernel.dmesg_restrict = 1
# HRD-003
kernel.unprivileged_bpf_disabled = 1
kernel.perf_event_paranoid = 3
net.core.bpf_jit_harden = 2
# HRD-004
kernel.kexec_load_disabled = 1
# HRD-005
kernel.core_pattern = |/bin/false
fs.suid_dumpable = 0
# HRD-007
vm.unprivileged_userfaultfd = 0
user.max_user_namespaces = 0
# HRD-010
kernel.sysrq = 0
fs.protected_hardlinks = 1
fs.protected_symlinks = 1
kernel.randomize_va_space = 2
# INT-003 (SL4), after systemd-modules-load
kernel.modules_disabled = 1
EOF
# HRD-005: no core dumps from users either (Debian 12 has no systemd-coredump unless installed).
put 0644 /etc/security/limits.d/60-warden.conf <<'EOF'
* hard core 0
EOF

# --- ENC-005: swap encrypted or absent (this root has none: nothing to remove) --------------
if grep -E '^[^#]*[[:space:]]swap[[:space:]]' /etc/fstab | grep -v -E '^(/dev/mapper/|/dev/zram)'; then
  say "ENC-005: unencrypted swap in /etc/fstab (above): encrypt it as the remediation says"; exit 1
fi

# --- HRD-006: no crash kernel ----------------------------------------------------------------
sed -i 's/ *crashkernel=[^ "]*//g' /etc/default/grub
if [ -e /lib/systemd/system/kdump-tools.service ]; then systemctl disable kdump-tools.service >/dev/null 2>&1; fi

# --- HRD-008, HRD-009: /proc hidepid, temporary areas in memory -----------------------------
getent group proc >/dev/null || groupadd --system proc
cat >>/etc/fstab <<'EOF'
# HRD-008
proc /proc proc defaults,hidepid=invisible,gid=proc 0 0
# HRD-009 (SL4: noexec)
tmpfs /tmp tmpfs defaults,mode=1777,nosuid,nodev,noexec,size=50% 0 0
tmpfs /var/tmp tmpfs defaults,mode=1777,nosuid,nodev,noexec,size=25% 0 0
tmpfs /dev/shm tmpfs defaults,nosuid,nodev,noexec 0 0
EOF
put 0644 /etc/systemd/system/systemd-logind.service.d/60-hidepid.conf <<'EOF'
[Service]
SupplementaryGroups=proc
EOF

# --- LOG-001, INT-002, INT-003, EXF-002: the kernel command line ----------------------------
cmdline='audit=1 audit_backlog_limit=8192 module.sig_enforce=1 lockdown=confidentiality intel_iommu=on iommu=force'
sed -i "s/^GRUB_CMDLINE_LINUX=\"\(.*\)\"/GRUB_CMDLINE_LINUX=\"\1 $cmdline\"/" /etc/default/grub
sed -i 's/^GRUB_CMDLINE_LINUX=" /GRUB_CMDLINE_LINUX="/' /etc/default/grub
systemctl enable auditd.service >/dev/null 2>&1

# --- LOG-002, LOG-003, LOG-004, LOG-010: audit rules ---------------------------------------
# LOG-010: the canary's own rule first (30- sorts before 40-).
put 0640 /etc/audit/rules.d/30-canary.rules <<EOF
-w $CANARY -p r -k weights-canary
EOF
put 0640 /etc/audit/rules.d/40-weights.rules <<EOF
-a always,exit -F dir=$WEIGHTS -F perm=rw -k weights
EOF
{
  for f in /etc/sudoers /etc/sudoers.d /etc/passwd /etc/shadow /etc/group /etc/gshadow /etc/audit/; do
    echo "-w $f -p wa -k scope"
  done
  for arch in b64 b32; do
    echo "-a always,exit -F arch=$arch -S init_module,finit_module,delete_module -k modules"
    echo "-a always,exit -F arch=$arch -S mount -k mounts"
    echo "-a always,exit -F arch=$arch -S adjtimex,settimeofday,clock_settime -k time"
    echo "-a always,exit -F arch=$arch -S ptrace,process_vm_readv,bpf,kexec_load -k memory"
  done
} | put 0640 /etc/audit/rules.d/50-privileged.rules
put 0640 /etc/audit/rules.d/99-finalize.rules <<'EOF'
-e 2
EOF
augenrules >/dev/null

# --- LOG-005: auditd never drops records silently -------------------------------------------
# space_left_action: `email` needs an MTA (/usr/lib/sendmail), which this root has not: syslog.
# log_group = root: auditd sets its log directory to 0750 (files 0640) at every start while
# log_group is a group other than root, undoing the chmod below.
sed -i -e 's/^disk_full_action = .*/disk_full_action = single/' \
       -e 's/^disk_error_action = .*/disk_error_action = single/' \
       -e 's/^space_left_action = .*/space_left_action = syslog/' \
       -e 's/^log_group = .*/log_group = root/' \
       -e 's/^admin_space_left_action = .*/admin_space_left_action = single/' \
       -e 's/^max_log_file_action = .*/max_log_file_action = keep_logs/' /etc/audit/auditd.conf
chmod 0700 /var/log/audit
find /var/log/audit -type f -exec chmod 0600 {} +

# --- LOG-006: logs leave the host over TLS ---------------------------------------------------
# The log server's CA certificate is the site's: Tests/Roots/hardened/ lays a test one at this
# path (without it `rsyslogd -N1` reports an error and the server cannot be authenticated).
put 0644 /etc/rsyslog.d/60-warden.conf <<'EOF'
global(DefaultNetstreamDriverCAFile="/etc/ssl/certs/logs-ca.pem")
*.* action(type="omfwd" target="logs.example" port="6514" protocol="tcp"
           StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
           StreamDriverPermittedPeers="logs.example")
EOF

# --- LOG-007: persistent journal, sealed (SL4) -----------------------------------------------
put 0644 /etc/systemd/journald.conf.d/60-warden.conf <<'EOF'
[Journal]
Storage=persistent
Seal=yes
EOF
mkdir -p /var/log/journal
# On a running host `systemctl restart systemd-journald` makes /var/log/journal/MACHINE-ID (where
# --setup-keys writes the sealing key, and fails without it); offline, make it as journald would.
install -d -m 2755 -g systemd-journal "/var/log/journal/$(cat /etc/machine-id)"
journalctl --setup-keys >/dev/null 2>&1

# --- LOG-008: time synchronised (chrony, enabled by its package, with Debian's pool) ---------
systemctl enable chrony.service >/dev/null 2>&1

# --- INT-006: AIDE database and its daily check ---------------------------------------------
# aideinit writes /var/lib/aide/aide.db.new and copies it to aide.db itself; Debian's aide-common
# enables dailyaidecheck.timer. A full aideinit of this root takes over a minute on two cores:
# with WARDEN_HARDEN_AIDE_LIMIT (a regex, e.g. ^/etc/) the test runs the same `aide --init`
# over those paths only (aideinit drops the aide options it is given) and copies it as aideinit does.
if [ -n "${WARDEN_HARDEN_AIDE_LIMIT:-}" ]; then
  aide --config=/etc/aide/aide.conf --init --limit "$WARDEN_HARDEN_AIDE_LIMIT" >/dev/null
  cp -f /var/lib/aide/aide.db.new /var/lib/aide/aide.db
else
  aideinit --yes --force >/dev/null
fi
systemctl enable dailyaidecheck.timer >/dev/null 2>&1

# --- INT-009: a GRUB superuser password; the default entries still boot unattended ----------
# The password is random and thrown away: this is a test root. Without --unrestricted on its
# menu entries GRUB asks for the superuser password before booting any entry, and the host does
# not come back from an unattended reboot; Debian's 10_linux gives every entry its ${CLASS}.
password=$(head -c 18 /dev/urandom | base64)
hash=$(printf '%s\n%s\n' "$password" "$password" | grub-mkpasswd-pbkdf2 | sed -n 's/^.* is //p')
case $hash in grub.pbkdf2.sha512.*) ;; *) say "INT-009: grub-mkpasswd-pbkdf2 gave no hash"; exit 1 ;; esac
put 0755 /etc/grub.d/40_custom <<EOF
#!/bin/sh
exec tail -n +3 \$0
set superusers="root"
password_pbkdf2 root $hash
EOF
sed -i 's/^CLASS="--class gnu-linux --class gnu --class os"$/CLASS="--class gnu-linux --class gnu --class os --unrestricted"/' /etc/grub.d/10_linux
grep -q -- '--unrestricted"$' /etc/grub.d/10_linux || { say "INT-009: /etc/grub.d/10_linux has no CLASS line to extend"; exit 1; }
# Recovery entries would be unrestricted too: leave them out.
if grep -q '^#\?GRUB_DISABLE_RECOVERY=' /etc/default/grub; then
  sed -i 's/^#\?GRUB_DISABLE_RECOVERY=.*/GRUB_DISABLE_RECOVERY="true"/' /etc/default/grub
else
  echo 'GRUB_DISABLE_RECOVERY="true"' >>/etc/default/grub
fi

# --- LOG-011: the SSH banner announces monitoring -------------------------------------------
# Its own drop-in, included before sshd_config's lines like 60-warden.conf; the first value wins.
put 0644 /etc/issue.net <<'EOF'
Authorised use only. This system is monitored: every session is recorded and audited.
EOF
put 0644 /etc/ssh/sshd_config.d/61-warden-banner.conf <<'EOF'
# LOG-011: the notice every SSH login gets before authentication.
Banner /etc/issue.net
EOF

# --- INT-010: apt and container images only with valid signatures -------------------------
# Debian's base already passes; the remediation runs as written, so that a host with a vendor's
# `[trusted=yes]` line or an AllowInsecureRepositories drop-in comes out the same. A form these
# edits miss (an apt.conf block) is left to apt-config's dump, which then stops the script.
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  sed -i -E 's/[[:space:]]*(trusted|allow-insecure|allow-weak|allow-downgrade-to-insecure)=[^][:space:]]*//g; s/\[[[:space:]]*\][[:space:]]*//' "$f"
done
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  sed -i -E '/^(trusted|allow-insecure|allow-weak|allow-downgrade-to-insecure):/Id' "$f"
done
for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
  [ -f "$f" ] || continue
  sed -i -E '/(APT::Get::AllowUnauthenticated|Acquire::Allow(Insecure|DowngradeToInsecure|Weak)Repositories)[[:space:]]/Id' "$f"
done
if apt-config dump | grep -Eiq '^(APT::Get::AllowUnauthenticated|Acquire::Allow(Insecure|DowngradeToInsecure|Weak)Repositories) "(1|true|yes|on|with|enable)"'; then
  say "INT-010: apt still allows unauthenticated sources: $(apt-config dump | grep -i allow)"
  exit 1
fi

# --- EXF-008: no third-party agent runs commands ----------------------------------------------
# Purged where installed (none is on the base root); qemu-guest-agent, where kept, blocks the
# RPCs that run programs, move files or let the host in, by exact name as qemu-ga 7.2 matches.
for agent in amazon-ssm-agent google-guest-agent google-osconfig-agent walinuxagent; do
  if dpkg-query -W -f '${db:Status-Status}' "$agent" 2>/dev/null | grep -qx installed; then
    apt-get purge -y "$agent"
  fi
done
if [ -x /usr/sbin/qemu-ga ]; then
  put 0644 /etc/qemu/qemu-ga.conf <<'EOF'
[general]
block-rpcs=guest-exec,guest-exec-status,guest-file-open,guest-file-close,guest-file-read,guest-file-write,guest-file-seek,guest-file-flush,guest-ssh-add-authorized-keys,guest-set-user-password
EOF
fi

# --- EXF-004: egress default-deny, SSH only from the management network -----------------------
# Debian 12's nftables.service loads /etc/nftables.conf at boot. Output drops what it does not
# list (loopback and replies here; DNS, NTP and the mirror by address on a real site); input takes
# SSH only from the management network, 10.0.0.0/8 here: on a live host put the network you
# connect from there before loading it (`nft -c -f` first, then from a console).
put 0755 /etc/nftables.conf <<'EOF'
#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iifname "lo" accept
		ct state established,related accept
		ip saddr 10.0.0.0/8 tcp dport 22 accept
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter; policy drop;
		oifname "lo" accept
		ct state established,related accept
	}
}
EOF
systemctl enable nftables.service >/dev/null 2>&1
# --- ACC-013: the weights unit runs as its own user, sandboxed by a drop-in ------------------
# The site lists weights-server.service (services.weights_units). Its unit stands in for what an
# inference server's package installs (no User=, no sandboxing, as such units often come); the
# remediation's drop-in, what `systemctl edit` writes, confines it. ProtectSystem=strict leaves
# it nothing to write, which a server that only reads the weights needs.
put 0644 /usr/local/lib/systemd/system/weights-server.service <<'EOF'
[Unit]
Description=Model server (stand-in for the site's inference server)
After=network.target

[Service]
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
EOF
put 0644 /etc/systemd/system/weights-server.service.d/override.conf <<EOF
[Service]
User=$OWNER
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallFilter=@system-service
EOF
systemctl enable weights-server.service

# --- HRD-012: nothing enabled beyond the Debian 12 baseline and the site's lists -------------
# The remediation: a unit the host does not need is disabled (a link only, in a chroot); this
# site names its weights unit and nftables.service (EXF-004) in hardened-site.yaml, and
# ssh.service is in the baseline, so the way in stays. Every other unit the blocks above enable
# (apparmor, usbguard, auditd, chrony, dailyaidecheck.timer) is in the baseline: HRD-012's
# baseline_units in Profiles/sl3.yaml, repeated here with the site's units.
hrd012_baseline="apparmor.service apt-daily-upgrade.timer apt-daily.timer auditd.service chrony.service cron.service dailyaidecheck.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer getty@tty1.service remote-fs.target rsyslog.service ssh.service systemd-pstore.service usbguard-dbus.service usbguard.service systemd-timesyncd.service unattended-upgrades.service weights-server.service nftables.service"
for link in /etc/systemd/system/*.wants/* /etc/systemd/system/*.requires/* /etc/systemd/system/*.upholds/*; do
  [ -L "$link" ] || continue
  unit=${link##*/}
  case " $hrd012_baseline " in *" $unit "*) continue ;; esac
  say "HRD-012: disabling $unit (neither in the baseline nor named by the site)"
  systemctl disable "$unit" >/dev/null 2>&1 || rm -f "$link"
done

# --- LOG-001, INT-003, INT-009: update-grub --------------------------------------------------
# update-grub is `grub-mkconfig -o /boot/grub/grub.cfg`, whose grub-probe asks the kernel for the
# devices of / and /boot, which a chroot over an overlay does not have. Debian's grub-mkconfig
# and /etc/grub.d run here as they are, with grub-probe answered for a plain ext4 partition
# /dev/vda1 (a stand-in, removed afterwards: a real host runs update-grub).
stub=$(mktemp -d)
cat >"$stub/grub-probe" <<'EOF'
#!/bin/sh
target=
while [ $# -gt 0 ]; do
  case $1 in --target=*) target=${1#--target=} ;; -t|--target) target=$2; shift ;; esac
  shift
done
case $target in
  device) echo /dev/vda1 ;;
  disk) echo /dev/vda ;;
  fs) echo ext2 ;;
  fs_uuid) echo 5f0c6c3e-6b0c-4d8e-9a3e-2c1d7b9e4a10 ;;
  partuuid) echo 5f0c6c3e-01 ;;
  partmap) echo msdos ;;
  drive) echo '(hd0,msdos1)' ;;
  compatibility_hint) echo hd0,msdos1 ;;
  hints_string) echo '--hint-bios=hd0,msdos1' ;;
esac
EOF
chmod 0755 "$stub/grub-probe"
sed "s|^grub_probe=.*|grub_probe=$stub/grub-probe|" /usr/sbin/grub-mkconfig >"$stub/grub-mkconfig"
sh "$stub/grub-mkconfig" -o /boot/grub/grub.cfg 2>"$stub/log" || { cat "$stub/log" >&2; exit 1; }
rm -rf "$stub"
grep -q '^password_pbkdf2 root ' /boot/grub/grub.cfg

# --- INT-007: nothing of the site's software denylist is installed or on the PATH -----------
# The list is hardened-site.yaml's; purged where installed (none is on the base root). The SL4
# allowlist is waived in the site file: fapolicyd is not in Debian 12, and enforcing IMA
# appraisal on a root whose files are not signed would leave it unbootable.
for p in nmap ncat netcat-traditional netcat-openbsd socat tcpdump tshark wireshark-common telnet; do
  if dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
    apt-get purge -y "$p"
  fi
  for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
    if [ -e "$d/$p" ]; then say "INT-007: $d/$p is still there (no package of that name owns it)"; exit 1; fi
  done
done

say "done"
