"""Fuzz the MIDI reader's two paths against each other.

Random message streams of two keys on two channels, in one or two tracks: ties on one
tick, releases as note-offs and as note-ons of velocity 0, running status (also after
meta events), program changes and sustain pedal messages. For every file the fast path
(symusic's notes replayed by the rules) takes, its notes must equal the byte-by-byte
reader's, with the pedal and without; it must never read a file the byte reader calls
damaged. (tests/test_midi_exact.py checks both paths on hand-made and random files in
every test run; this runs many more.)

    python tools/fuzz_midi_reader.py [--cases 20000] [--seed 0] [--spread]

Prints how many files the fast path took and how many disagreed (0 expected).
"""

from __future__ import annotations

import argparse
import random
import struct

from course_lib import midi


def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def random_message(rng: random.Random) -> bytes:
    channel, pitch, r = rng.choice([0, 0, 1]), rng.choice([60, 61]), rng.random()
    if r < 0.45:
        return bytes([0x90 | channel, pitch, rng.choice([1, 64, 64, 127])])
    if r < 0.9:
        return bytes([0x80 | channel, pitch, 0]) if rng.random() < 0.5 else bytes([0x90 | channel, pitch, 0])
    if r < 0.93:
        return bytes([0xC0 | channel, rng.randint(0, 3)])
    if r < 0.98:
        return bytes([0xB0 | channel, 64, rng.choice([0, 63, 64, 127])])
    return b"\xff\x01\x01a"


def random_file(rng: random.Random, deltas: list[int]) -> bytes:
    tracks = []
    for _ in range(rng.choice([1, 1, 2])):
        body, status = b"", None
        for _ in range(rng.randint(0, 40)):
            message = random_message(rng)
            running = message[0] < 0xF0 and message[0] == status and rng.random() < 0.7
            body += vlq(rng.choice(deltas)) + (message[1:] if running else message)
            if message[0] < 0xF0 or rng.random() < 0.5:  # a meta event keeps the running status, or not
                status = message[0]
        tracks.append(body + vlq(rng.choice([0, 5])) + b"\xff\x2f\x00")
    return (b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), 480)
            + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spread", action="store_true", help="fewer messages on one tick")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    deltas = [0, 1, 7, 100, 100, 240] if args.spread else [0, 0, 0, 1, 7, 100]
    taken = disagree = 0
    for _ in range(args.cases):
        data = random_file(rng, deltas)
        division, chunks = midi._chunks(data, "fuzz")
        for sustain in (True, False):
            fast = midi._read_with_symusic(data, division, chunks, "fuzz", sustain)
            try:
                exact = midi._read(data, "fuzz", sustain)[0]
            except midi.MidiError:
                disagree += fast is not None
                continue
            if fast is not None:
                taken += sustain
                if sorted(fast.notes()) != sorted(exact.notes()):
                    disagree += 1
                    print("disagree:", data.hex())
    print(f"{args.cases:,} files (seed {args.seed}{', spread' if args.spread else ''}): "
          f"the fast path took {taken:,}; {disagree} disagreed with the byte-by-byte reader")


if __name__ == "__main__":
    main()
