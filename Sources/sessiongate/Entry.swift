import SessionGateApp

/// The executable stays thin: everything lives in SessionGateApp so tests can reach it.
@main
struct Entry {
    static func main() async {
        await SessionGateCommand.main()
    }
}
