# diff: -u 3 -r 100 -t 4s
# diff-check: all -shares
# diff-markers: mode=count ^(on_sart|on_stop) is called
# diff-expect: exit=1 rows=2 failures=2 exceptions=0
"""Seed 004 (an SRE team's script), unchanged except the wait: FastHttpUser whose `tasks` is a *set* holding a
SequentialTaskSet, percent-encoded path-traversal names, headers=None, print() in on_start/on_stop, and the
never-called setup/teardown methods."""
from locust import SequentialTaskSet, constant, task
from locust.contrib.fasthttp import FastHttpUser


class MetricsTaskSet(SequentialTaskSet):
  _body = None
  _body_delivery_possible = None
  _header_authoriztion = None
  _test_set_number = 0


  def on_start(self):
    print('on_sart is called on task class!', self._test_set_number)

  def on_stop(self):
    print('on_stop is called on task class!', self._test_set_number)

  def setup(self):
    print('setup is called on task class!')

  def teardown(self):
    print('teardown is called on task class!')

  @task
  def case_1(self):

    print(f'[{self._test_set_number}] Case #1 go')

    self.client.get(
      '/c:%252e%252e%255f%252e%252e%255f%252e%252e%255f%252e%252e%255f%252e%252e%255f%252e%252e%255fboot.ini%23vt/test',
      name='/c:%252e%252e%255f%252e%252e%255f%252e%252e%255f%252e%252e%255f%252e%252e%255f%252e%252e%255fboot.ini%23vt/test',
      headers=self._header_authoriztion
    )

  @task
  def case_2(self):

    print(f'[{self._test_set_number}] Case #2 go')

    self.client.get(
      '/c:.....//.....//.....//.....//.....//.....//etc/passwd%23vt/test',
      name='/c:.....//.....//.....//.....//.....//.....//etc/passwd%23vt/test',
      headers=self._header_authoriztion
    )


class MetricsLocust(FastHttpUser):
  tasks = {MetricsTaskSet}
  wait_time = constant(0.5)

  def setup(self):
    print('MetricsLocust setup is called on locust class !')

  def teardown(self):
    print('MetricsLocust teardown is called on locust class!')
