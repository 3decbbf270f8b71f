{
  description = "rstat: a Wayland status bar whose health sampler reads the kernel through eBPF";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAll (pkgs: rec {
        rstat = pkgs.rustPlatform.buildRustPackage {
          pname = "rstat";
          version = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).package.version;
          src = self;
          cargoLock.lockFile = ./Cargo.lock;
          # build.rs compiles probe/probe.bpf.c with `clang -target bpf` when
          # clang is on PATH. The unwrapped clang: the cc-wrapper's hardening
          # flags are meaningless for (and rejected by) the BPF target.
          nativeBuildInputs = [ pkgs.llvmPackages.clang-unwrapped ];
          # The test suite loads BPF as root and drives a real Sway: it runs
          # in the project's CI, not in the sandbox.
          doCheck = false;
          meta = {
            description = "Wayland status bar with an eBPF system-health sampler";
            license = pkgs.lib.licenses.mit;
            platforms = pkgs.lib.platforms.linux;
            mainProgram = "rstat";
          };
        };
        default = rstat;
      });

      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            cargo rustc clippy rustfmt
            llvmPackages.clang-unwrapped llvm bpftools
            sway grim
          ];
        };
      });

      # NixOS: `programs.rstat.enable = true;` installs rstat with exactly
      # CAP_BPF + CAP_PERFMON (a capability wrapper, not setuid root) and a
      # user service tied to the graphical session. rstat loads its probe,
      # then drops every capability before it reads the config or talks to
      # the compositor.
      nixosModules.default = { config, lib, pkgs, ... }:
        let cfg = config.programs.rstat;
        in {
          options.programs.rstat = {
            enable = lib.mkEnableOption "the rstat status bar";
            package = lib.mkOption {
              type = lib.types.package;
              default = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
              description = "The rstat package to use.";
            };
            systemdService = lib.mkOption {
              type = lib.types.bool;
              default = true;
              description = "Start rstat as a systemd user service with the graphical session (otherwise, exec it from the compositor's config).";
            };
          };
          config = lib.mkIf cfg.enable {
            security.wrappers.rstat = {
              owner = "root";
              group = "root";
              capabilities = "cap_bpf,cap_perfmon+ep";
              source = "${cfg.package}/bin/rstat";
            };
            systemd.user.services.rstat = lib.mkIf cfg.systemdService {
              description = "rstat status bar";
              partOf = [ "graphical-session.target" ];
              after = [ "graphical-session.target" ];
              wantedBy = [ "graphical-session.target" ];
              serviceConfig = {
                ExecStart = "${config.security.wrapperDir}/rstat";
                ExecReload = "${pkgs.coreutils}/bin/kill -USR2 $MAINPID";
                Restart = "on-failure";
                RestartSec = 1;
              };
            };
          };
        };
    };
}
