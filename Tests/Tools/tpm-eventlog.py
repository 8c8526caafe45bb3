#!/usr/bin/env python3
"""Writes a TPM 2.0 event log in the crypto-agile format of the TCG PC Client Platform Firmware
Profile (a Spec ID event naming SHA-1 and SHA-256, then TCG_PCR_EVENT2 records) and the SHA-256
PCR values it replays to, as the kernel shows them, into a fixture root:

    Tests/Tools/tpm-eventlog.py ROOT

    ROOT/sys/kernel/security/tpm0/binary_bios_measurements
    ROOT/sys/class/tpm/tpm0/pcr-sha256/N     (upper-case hex and a newline, as Linux prints them)

The events are a UEFI boot's: a POST code, an EFI action in PCR 7, the separators of PCRs 0 to 7,
the boot option in PCR 4, the boot loader's command in PCR 8. MeasuredBootTests checks the
result against tpm2_eventlog.
"""
import hashlib
import os
import struct
import sys


def u32(x):
    return struct.pack("<I", x)


def u16(x):
    return struct.pack("<H", x)


def event(pcr, kind, data):
    return (u32(pcr) + u32(kind) + u32(2) + u16(0x0004) + hashlib.sha1(data).digest() + u16(0x000B)
            + hashlib.sha256(data).digest() + u32(len(data)) + data)


def main(root):
    spec = b"Spec ID Event03\0" + u32(0) + bytes([0, 2, 0, 2]) + u32(2) + u16(0x0004) + u16(20) + u16(0x000B) + u16(32) + b"\0"
    log = u32(0) + u32(3) + b"\0" * 20 + u32(len(spec)) + spec
    events = [(0, 0x1, b"POST CODE"), (7, 0x80000007, b"Exit Boot Services Invocation")]
    events += [(pcr, 0x4, b"\0\0\0\0") for pcr in range(8)]
    events += [(4, 0x5, b"Calling EFI Application from Boot Option"),
               (8, 0xD, b"grub_cmd: linux /vmlinuz-6.1.0-28-amd64 root=/dev/vda1")]
    pcrs = {}
    for pcr, kind, data in events:
        log += event(pcr, kind, data)
        pcrs[pcr] = hashlib.sha256(pcrs.get(pcr, b"\0" * 32) + hashlib.sha256(data).digest()).digest()
    logdir = os.path.join(root, "sys/kernel/security/tpm0")
    pcrdir = os.path.join(root, "sys/class/tpm/tpm0/pcr-sha256")
    os.makedirs(logdir, exist_ok=True)
    os.makedirs(pcrdir, exist_ok=True)
    with open(os.path.join(logdir, "binary_bios_measurements"), "wb") as f:
        f.write(log)
    for pcr, value in pcrs.items():
        with open(os.path.join(pcrdir, str(pcr)), "w") as f:
            f.write(value.hex().upper() + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
