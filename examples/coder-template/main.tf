# A Docker workspace whose start-up scripts are ordered by unitsync. The server starts
# in the container's entry point, before the agent runs the coder_scripts in parallel.
terraform {
  required_providers {
    coder  = { source = "coder/coder" }
    docker = { source = "kreuzwerker/docker" }
  }
}

variable "repo_url" {
  type        = string
  description = "The repository the workspace clones"
  default     = "https://github.com/coder/coder.git"
}

data "coder_workspace" "me" {}
data "coder_workspace_owner" "me" {}

resource "coder_agent" "main" {
  arch = "amd64"
  os   = "linux"
  env = {
    REPO_URL = var.repo_url
  }
}

# Each script is a file of its own, so the same files run locally with
# `unitsync up examples/coder-template/scripts` before they ship.
resource "coder_script" "git_clone" {
  agent_id     = coder_agent.main.id
  display_name = "git clone"
  run_on_start = true
  script       = file("${path.module}/scripts/10-git-clone.sh")
}

resource "coder_script" "install_deps" {
  agent_id     = coder_agent.main.id
  display_name = "install dependencies"
  run_on_start = true
  script       = file("${path.module}/scripts/20-install-deps.sh")
}

resource "coder_script" "code_server" {
  agent_id     = coder_agent.main.id
  display_name = "code-server"
  run_on_start = true
  script       = file("${path.module}/scripts/30-code-server.sh")
}

resource "coder_script" "claude" {
  agent_id     = coder_agent.main.id
  display_name = "Claude"
  run_on_start = true
  script       = file("${path.module}/scripts/40-claude.sh")
}

resource "docker_image" "workspace" {
  name = "unitsync-workspace:latest"
  build {
    # The repository root: the Dockerfile's first stage compiles unitsync from it.
    context    = "${path.module}/../.."
    dockerfile = "examples/coder-template/Dockerfile"
  }
}

resource "docker_container" "workspace" {
  count    = data.coder_workspace.me.start_count
  image    = docker_image.workspace.image_id
  name     = "coder-${data.coder_workspace_owner.me.name}-${data.coder_workspace.me.name}"
  hostname = data.coder_workspace.me.name
  # unitsync serve first, then the agent: the scripts find the server already listening.
  entrypoint = ["sh", "-c", <<-EOT
    unitsync serve &
    ${replace(coder_agent.main.init_script, "/localhost|127\\.0\\.0\\.1/", "host.docker.internal")}
  EOT
  ]
  env = ["CODER_AGENT_TOKEN=${coder_agent.main.token}"]
  host {
    host = "host.docker.internal"
    ip   = "host-gateway"
  }
}
