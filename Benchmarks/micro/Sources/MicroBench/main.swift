// Micro-benchmarks of SessionGateCore's hot pure functions.
// Usage: MicroBench [--round-ms N] [--rounds N] [--list] [--fixed N] [filter ...]
// A benchmark runs when "group/name" equals or contains a filter (all run when none is given).
#if canImport(Glibc)
    import Glibc
#endif

func parseSettings(_ arguments: [String]) -> Settings {
    var settings = Settings()
    var rest = arguments[...]
    func number(_ flag: String) -> Int {
        guard let text = rest.popFirst(), let value = Int(text), value > 0 else {
            print("\(flag) needs a positive number")
            exit(2)
        }
        return value
    }
    while let argument = rest.popFirst() {
        switch argument {
        case "--round-ms": settings.roundMilliseconds = number(argument)
        case "--rounds": settings.rounds = number(argument)
        case "--list": settings.list = true
        case "--fixed": settings.fixedIterations = number(argument)
        case "-h", "--help":
            print("usage: MicroBench [--round-ms N (200)] [--rounds N (5)] [--list] [--fixed N] [filter ...]")
            exit(0)
        default: settings.filters.append(argument)
        }
    }
    return settings
}

let settings = parseSettings(Array(CommandLine.arguments.dropFirst()))
let fixtures = Fixtures()
// The differential checks of the prototypes are skipped under --fixed/--list (valgrind runs).
checkFixtures(fixtures, differential: settings.fixedIterations == nil && !settings.list)
let all = coreBenchmarks(fixtures) + prototypeBenchmarks(fixtures)
let fullNames = Set(all.map(\.fullName))
/// A filter equal to a whole name selects that benchmark only; otherwise it is a substring.
let selected = all.filter { benchmark in
    settings.filters.isEmpty
        || settings.filters.contains {
            fullNames.contains($0) ? benchmark.fullName == $0 : benchmark.fullName.contains($0)
        }
}
if settings.list {
    for benchmark in selected { print(benchmark.fullName) }
    exit(0)
}

if let iterations = settings.fixedIterations {
    for benchmark in selected {
        benchmark.run(1)  // lazy globals and first-call costs stay out of the count
        Harness.fixedRun(benchmark, iterations: iterations)
    }
    exit(0)
}

print(
    "SessionGateCore micro-benchmarks: \(settings.rounds) rounds of ~\(settings.roundMilliseconds) ms each; "
        + "ns/op is the median round, spread = (slowest - fastest) / median.")
if !Harness.countsAllocations { print("(allocation counting unavailable on this platform)") }
print(Report.header())
for benchmark in selected {
    print(Report.line(Harness.measure(benchmark, settings: settings)))
}
