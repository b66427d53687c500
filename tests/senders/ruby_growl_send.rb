# Debian's ruby-growl 4.1, driven through its own Growl::GNTP API.
# ARGV[0]: JSON {port, password, encrypt, icon (hex), title, text, callback}.
# Prints "sent", "callback <result>" or "error <code>".
require 'json'
require 'openssl'
require 'uri'

# ruby-growl 4.1 predates Ruby 3.1. Two shims restore what the Rubies it was written for
# did, so its own request and reply code runs unchanged:
module URI
  # URI's scheme table, which ruby-growl extends directly (Ruby 3.1 has register_scheme).
  @@schemes = {} unless class_variable_defined?(:@@schemes)
end

class OpenSSL::Cipher
  # Older Ruby OpenSSL used the first key_len bytes of a longer key (ruby-growl passes
  # the whole SHA512 digest); GNTP says the same. Ruby 3 raises instead.
  alias_method :checked_key=, :key=
  def key=(key)
    self.checked_key = key.byteslice(0, key_len)
  end
end

require 'ruby-growl'

cfg = JSON.parse(ARGV[0])
# ruby-growl always connects to 23053; the tests use a free port.
Growl::GNTP.send(:remove_const, :PORT)
Growl::GNTP.const_set(:PORT, cfg['port'])

growl = Growl::GNTP.new('127.0.0.1', 'Ruby Test')
growl.add_notification('done', 'Done', cfg['icon'] && [cfg['icon']].pack('H*'))
growl.password = cfg['password']
growl.encrypt = cfg['encrypt'] if cfg['encrypt']
$stdout.sync = true
begin
  growl.register
  if cfg['callback']
    growl.notify('done', cfg['title'], cfg['text']) do |callback|
      puts "callback #{callback['Notification-Callback-Result']}"
    end
  else
    growl.notify('done', cfg['title'], cfg['text'])
  end
  puts 'sent'
rescue Growl::GNTP::ResponseError => e
  puts "error #{e.headers['Error-Code']}"
end
