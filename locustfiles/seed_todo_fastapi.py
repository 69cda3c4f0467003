# diff[todo-user]: -u 6 -r 100 -t 4s TodoUser
# diff[all-users]: -u 6 -r 100 -t 4s
# diff-normalize: ^/todos/\d+$ => /todos/<id>
# diff-shares[todo-user]: cluster=1
# diff-check[all-users]: all -shares
# diff-expect: exit=0 failures=0 exceptions=0
# diff-expect[todo-user]: rows=5
"""Seed 003: the FastAPI todo exercise's locustfile, completed as its guide shows (TodoUser with weighted tasks and
the update/delete solutions, MixedWorkloadUser, StressTestUser), run once for the TodoUser class only (a class
name on the command line) and once for all classes. Waits are shortened; titles are Korean."""
import random

from locust import HttpUser, between, task


class TodoUser(HttpUser):
    wait_time = between(0.001, 0.005)

    def on_start(self):
        self.created_todo_ids = []

    @task(3)
    def create_todo(self):
        """TODO 생성 (가중치 3)"""
        with self.client.post("/todos/", json={"title": "성능 테스트", "completed": False},
                              catch_response=True) as response:
            if response.status_code == 201:
                self.created_todo_ids.append(response.json()["id"])
                response.success()
            else:
                response.failure(f"생성 실패: {response.status_code}")

    @task(2)
    def list_todos(self):
        """TODO 리스트 조회 (가중치 2)"""
        self.client.get("/todos/")

    @task(1)
    def get_single_todo(self):
        if not self.created_todo_ids:
            return
        todo_id = random.choice(self.created_todo_ids)
        self.client.get(f"/todos/{todo_id}", name="/todos/{id}")

    @task(1)
    def update_todo(self):
        """TODO 수정 시나리오"""
        if not self.created_todo_ids:
            return
        todo_id = random.choice(self.created_todo_ids)
        update_data = {"title": f"수정된 제목 {random.randint(1, 1000)}", "completed": random.choice([True, False])}
        with self.client.put(f"/todos/{todo_id}", json=update_data, name="/todos/{id} [PUT - Update]",
                             catch_response=True) as response:
            if response.status_code == 200:
                response.success()
            elif response.status_code == 404:
                response.success()  # 이미 삭제된 TODO
            else:
                response.failure(f"수정 실패: {response.status_code}")

    @task(1)
    def delete_todo(self):
        """TODO 삭제 시나리오"""
        if not self.created_todo_ids:
            return
        todo_id = random.choice(self.created_todo_ids)
        with self.client.delete(f"/todos/{todo_id}", name="/todos/{id} [DELETE]", catch_response=True) as response:
            if response.status_code == 204:
                if todo_id in self.created_todo_ids:
                    self.created_todo_ids.remove(todo_id)
                response.success()
            elif response.status_code == 404:
                response.success()  # 이미 삭제됨
            else:
                response.failure(f"삭제 실패: {response.status_code}")


class MixedWorkloadUser(HttpUser):
    wait_time = between(0.05, 0.1)

    @task
    def complete_workflow(self):
        """전체 워크플로우"""
        todo_ids = []
        for i in range(3):
            response = self.client.post("/todos/", json={"title": f"워크플로우 TODO {i}", "completed": False})
            if response.status_code == 201:
                todo_ids.append(response.json()["id"])
        self.client.get("/todos/")
        if todo_ids:
            self.client.put(f"/todos/{todo_ids[0]}", json={"completed": True})
        if todo_ids:
            self.client.delete(f"/todos/{todo_ids[0]}")


class StressTestUser(HttpUser):
    wait_time = between(0.01, 0.02)

    @task
    def bulk_create(self):
        self.client.post("/todos/", json={"title": "대량 " + "x" * random.randint(10, 200), "completed": False},
                         name="/todos/ [bulk]")
