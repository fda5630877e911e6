# Loads a Vagrantfile with a fake `Vagrant.configure` (no VirtualBox, no VM) and either prints what it
# defines or fires its after-up triggers on fake machines whose communicators run commands locally.
#
#   ruby fake-vagrant.rb dump VAGRANTFILE
#     JSON: { box, machines: [{ name, primary, hostname, box, networks, provider, synced_folders,
#             provisioners }], triggers: [{ stage, actions, name, ruby }] }
#   ruby fake-vagrant.rb up VAGRANTFILE SPEC_JSON
#     SPEC_JSON: { order: [NAME...], running: [NAME...], machines: { NAME: { root, user } } }. As
#     `vagrant up` does: for each NAME in order, the machine is running from then on, and the after-:up
#     triggers fire with it (`running`: those up from the start, as for a second `vagrant up`). A machine's
#     commands run with bash on this host, with LAB_HOME=ROOT/home and remote paths moved under ROOT.
require 'fileutils'
require 'json'
require 'open3'

module Vagrant
  @configures = []
  class << self
    attr_reader :configures

    def require_version(*); end

    def configure(version, &block)
      @configures << [version, block]
    end
  end
end

# Records settings (`x.y = v`) and calls (`x.customize [...]`) of a provider block.
class FakeSettings
  attr_reader :settings

  def initialize
    @settings = {}
  end

  def method_missing(name, *args)
    key = name.to_s
    @settings[key.end_with?('=') ? key.chomp('=') : key] = args.length == 1 ? args.first : args
  end

  def respond_to_missing?(*)
    true
  end
end

class FakeTriggerDefinition
  attr_accessor :name, :info, :warn, :on_error
  attr_reader :ruby_block

  def ruby(&block)
    @ruby_block = block
  end
end

class FakeTriggers
  attr_reader :list

  def initialize
    @list = []
  end

  %i[before after].each do |stage|
    define_method(stage) do |*actions, &block|
      definition = FakeTriggerDefinition.new
      block.call(definition)
      @list << { stage: stage, actions: actions.flatten, definition: definition }
    end
  end
end

class FakeVm
  attr_accessor :box, :hostname
  attr_reader :defines, :networks, :providers, :synced_folders, :provisioners

  def initialize
    @defines = []
    @networks = []
    @providers = {}
    @synced_folders = []
    @provisioners = []
  end

  def define(name, options = {}, &block)
    config = FakeConfig.new
    block&.call(config)
    @defines << { name: name.to_s, options: options, config: config }
  end

  def network(type, options = {})
    @networks << options.merge(type: type.to_s)
  end

  def provider(name, &block)
    settings = @providers[name.to_s] ||= FakeSettings.new
    block&.call(settings)
  end

  def synced_folder(host, guest, options = {})
    @synced_folders << options.merge(host: host, guest: guest)
  end

  def provision(name, options = {})
    @provisioners << options.merge(name: name.to_s)
  end
end

class FakeConfig
  attr_reader :vm, :trigger

  def initialize
    @vm = FakeVm.new
    @trigger = FakeTriggers.new
  end
end

def load_vagrantfile(path)
  config = FakeConfig.new
  load File.expand_path(path)
  Vagrant.configures.each { |_version, block| block.call(config) }
  config
end

def dump(config)
  machines = config.vm.defines.map do |d|
    vm = d[:config].vm
    {
      name: d[:name], primary: d[:options][:primary] == true, hostname: vm.hostname, box: vm.box || config.vm.box,
      networks: vm.networks, synced_folders: vm.synced_folders, provisioners: vm.provisioners,
      provider: vm.providers.transform_values(&:settings)
    }
  end
  triggers = (config.trigger.list + config.vm.defines.flat_map { |d| d[:config].trigger.list }).map do |t|
    { stage: t[:stage], actions: t[:actions], name: t[:definition].name, ruby: !t[:definition].ruby_block.nil? }
  end
  { box: config.vm.box, machines: machines, triggers: triggers }
end


class FakeCommunicator
  def initialize(machine)
    @machine = machine
  end

  def upload(from, to)
    local = @machine.local_path(to)
    FileUtils.mkdir_p(File.dirname(local))
    FileUtils.cp(from, local)
  end

  def sudo(command, _options = {})
    env = { 'LAB_HOME' => @machine.home, 'LAB_SCAN_TRIES' => '3' }
    out, err, status = Open3.capture3(env, 'bash', '-c', @machine.localize(command))
    yield :stdout, out if block_given? && !out.empty?
    yield :stderr, err if block_given? && !err.empty?
    raise "#{@machine.name}: `#{command}` failed (#{status.exitstatus}): #{err}" unless status.success?
    0
  end
  alias execute sudo
end

class FakeUi
  def initialize(name)
    @name = name
  end

  %i[info warn].each do |level|
    define_method(level) { |message, *| puts "#{@name} #{level}: #{message}" }
  end
end

class FakeMachine
  State = Struct.new(:id)
  attr_reader :name, :provider_name, :ui, :communicate, :home
  attr_writer :running

  def initialize(name, spec)
    @name = name.to_sym
    @provider_name = :virtualbox
    @ui = FakeUi.new(name)
    @communicate = FakeCommunicator.new(self)
    @running = false
    @spec = spec || {}
    @root = @spec['root']
    @home = @root && File.join(@root, 'home')
    @uploads = {}
  end

  def state
    State.new(@running ? :running : :not_created)
  end

  def ssh_info
    @spec['user'] ? { username: @spec['user'] } : nil
  end

  def local_path(remote)
    @uploads[remote] = File.join(@root, remote)
  end

  def localize(command)
    @uploads.reduce(command) { |c, (remote, local)| c.gsub(remote, local) }
  end
end

class FakeEnvironment
  def initialize(spec)
    @spec = spec
    @machines = {}
  end

  def machine(name, _provider)
    @machines[name.to_s] ||= FakeMachine.new(name, @spec['machines'][name.to_s])
  end
end

mode, vagrantfile, spec_file = ARGV
config = load_vagrantfile(vagrantfile)
case mode
when 'dump'
  puts JSON.generate(dump(config))
when 'up'
  spec = JSON.parse(File.read(spec_file))
  env = FakeEnvironment.new(spec)
  spec.fetch('running', []).each { |name| env.machine(name, :virtualbox).running = true }
  spec['order'].each do |name|
    machine = env.machine(name, :virtualbox)
    machine.running = true
    config.trigger.list.select { |t| t[:stage] == :after && t[:actions].include?(:up) }.each do |t|
      t[:definition].ruby_block.call(env, machine)
    end
  end
else
  abort 'usage: fake-vagrant.rb dump VAGRANTFILE | up VAGRANTFILE SPEC_JSON'
end
