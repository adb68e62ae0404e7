// fast-check settings shared by the fuzz suites: a fixed seed (42) so CI is
// deterministic; FUZZ_SEED=random (or a number) for another seed, and
// FUZZ_SCALE=N for N times the runs. A failure prints its seed.
export interface FuzzOptions {
    seed: number
    numRuns: number
    includeErrorInReport: boolean
    endOnFailure?: boolean
}

export function fuzzOptions(numRuns: number): FuzzOptions {
    const env = process.env["FUZZ_SEED"]
    let seed = 42
    if (env === "random") seed = (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0
    else if (env !== undefined && env !== "") seed = Number(env) | 0
    const scale = Number(process.env["FUZZ_SCALE"] || "1")
    return { seed, numRuns: Math.max(1, Math.round(numRuns * (scale > 0 ? scale : 1))), includeErrorInReport: true }
}
