"""The documented list algorithm and hash layout, rebuilt with only hmac, hashlib and ints, as
an outside statistician holding the escrowed seed would (randomization.md §7 and the engine's
docstrings), so tests never compare the implementation with itself."""

import hashlib
import hmac
import itertools


def stratum_rows(seed: bytes, study: str, stratum: str, arms, sizes, min_slots):
    """[(sequence, block, size, position, arm)] with arms = [(code, ratio)] in scheme order."""

    def drawer(block):
        counters = itertools.count()

        def randbelow(n):
            while True:
                message = f"v1|{study}|{stratum}|{block}|{next(counters)}".encode()
                value = int.from_bytes(hmac.new(seed, message, hashlib.sha256).digest(), "big")
                if value < (2**256 // n) * n:
                    return value % n

        return randbelow

    sizes = sorted(sizes)
    total = sum(ratio for _, ratio in arms)
    rows = []
    block = 0
    while len(rows) < min_slots:
        block += 1
        randbelow = drawer(block)
        size = sizes[randbelow(len(sizes))]
        order = [code for code, ratio in arms for _ in range(size * ratio // total)]
        for i in range(size - 1, 0, -1):
            j = randbelow(i + 1)
            order[i], order[j] = order[j], order[i]
        for position, code in enumerate(order, start=1):
            rows.append((len(rows) + 1, block, size, position, code))
    return rows


def params_text(study, arms, names, sizes, min_slots, strata) -> bytes:
    lines = [
        "format=npc-edc-randomization-parameters/1",
        "generator=HMAC-SHA256/v1",
        "method=permuted_blocks",
        f"study={study}",
        "arms=" + ",".join(f"{code}:{ratio}" for code, ratio in arms),
        "block_sizes=" + ",".join(str(s) for s in sorted(sizes)),
        f"min_slots_per_stratum={min_slots}",
        *[f"stratum={key}" for key in sorted(strata, key=str.encode)],
        "extra.arm_names=" + ",".join(f"{code}:{names[code]}" for code, _ in arms),
    ]
    return "".join(line + "\n" for line in lines).encode()


def list_text(lists: dict) -> bytes:
    out = []
    for key in sorted(lists, key=str.encode):
        for sequence, block, size, position, arm in lists[key]:
            out.append(f"{key}\t{sequence}\t{block}\t{size}\t{position}\t{arm}\n")
    return "".join(out).encode()
