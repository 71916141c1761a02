import ArgumentParser

@main
struct Diffuse: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diffuse", abstract: "Text-to-image diffusion in Swift.")
}
