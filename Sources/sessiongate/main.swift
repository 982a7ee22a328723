import SessionGateApp

await SessionGateCommand.main()
